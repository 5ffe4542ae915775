"""What every REST shim shares: refusals in the spec's own error shape, endpoints that document themselves
(OpenAPI), the caller as a principal, bodies and queries validated by pydantic models."""
