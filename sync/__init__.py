"""Sync engine and the write pipeline, split by subsystem: outbox/, pull/, apply/, conflicts/, live/."""
