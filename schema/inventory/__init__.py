"""Stock in GraphQL: stock items and levels, and the stock mutations."""
