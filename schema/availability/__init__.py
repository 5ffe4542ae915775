"""Availability in GraphQL: the availability query and its input and result types."""
