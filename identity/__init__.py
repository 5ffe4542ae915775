"""Who is asking, and the secrets that prove it: the principal every layer may read, keyed hashes and
encryption for secrets at rest, and JSON Web Tokens. Imports nothing of the gateway but the standard library
and the crypto libraries, so any layer may use it."""
