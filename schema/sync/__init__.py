"""Sync jobs, their logs and the conflicts they find, and the outbox: types, root fields and mutations."""
