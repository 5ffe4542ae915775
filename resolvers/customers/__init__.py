"""Customers: search and lookups, updates sent to every mapped location, merges and duplicates."""
