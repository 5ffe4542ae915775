"""Where data lives: the local cache (SQLAlchemy models and repositories) and the live connectors."""
