"""The gateway's local cache: a replica of every location's data in one SQL database."""
