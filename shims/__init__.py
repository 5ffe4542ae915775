"""The REST faces of the gateway: one package per specification (parse, verify, call resolvers/, answer)."""
