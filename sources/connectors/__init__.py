"""Live connectors: one per kind of location, all behind the `Connector` protocol."""
