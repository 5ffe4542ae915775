"""Services and resources in GraphQL: types, queries, and the resource sharing mutations."""
