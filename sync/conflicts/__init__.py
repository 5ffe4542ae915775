"""Concurrent changes: detection by version token, resolution, rollback of a job, propagation of the result."""
