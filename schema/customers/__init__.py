"""Customers in GraphQL: the Customer type and its mutations."""
