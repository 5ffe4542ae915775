"""Sync administration: jobs, conflicts, triggers and rollbacks, and the outbox."""
