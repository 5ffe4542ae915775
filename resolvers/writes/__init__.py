"""Mutations: validate, claim in the cache with an outbox message, deliver to the owners, report."""
