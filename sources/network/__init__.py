"""The network as configuration: the network file, applying it to the cache, and locations' credentials."""
