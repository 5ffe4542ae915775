"""The REST faces of the gateway: one package per specification, each parsing, verifying and answering in its spec's shape."""
