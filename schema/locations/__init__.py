"""Locations in GraphQL: the Location type, health, node lookups and the network queries."""
