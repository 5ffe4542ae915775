"""Sync engine, outbox and REST shims (webhook and sync endpoints)."""
