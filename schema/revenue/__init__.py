"""Revenue in GraphQL: the report's types."""
