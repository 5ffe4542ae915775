"""Telling "the cache database cannot be reached" apart from a bug, whichever driver raised it.

Clients get SERVICE_UNAVAILABLE (retry later) for the first and a masked INTERNAL_SERVER_ERROR for the
second. The drivers report an outage in many shapes: the socket's OSError (connection refused, reset,
timed out; TimeoutError is one too), asyncpg's own exceptions for a server that is shutting down or
refuses connections, SQLAlchemy's pool timeout, and SQLAlchemy's wrapper around any of these (its
`orig`, or `connection_invalidated` when the driver said the connection is gone).
"""

from __future__ import annotations

import sqlite3

import asyncpg
from sqlalchemy import exc as sa_exc

# asyncpg errors that mean the server is not there to serve us (SQLSTATE classes 08, 53300, 57P0x, 3D000).
ASYNCPG_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin/crash shutdown, cannot connect now
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InvalidCatalogNameError,  # the database was dropped under us
)
SQLITE_OUTAGE_MESSAGES = ("unable to open database file", "disk i/o error")


def _causes(error: BaseException) -> list[BaseException]:
    """The error and everything it wraps or was raised during, without looping on cycles."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is known for known in seen) or len(seen) > 20:
            continue
        seen.append(current)
        pending.extend([current.__cause__, current.__context__, getattr(current, "orig", None)])
    return seen


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, (OSError, sa_exc.TimeoutError, *ASYNCPG_OUTAGES)):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, asyncpg.exceptions.InterfaceError) and "closed" in str(error):
        return True
    return isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(SQLITE_OUTAGE_MESSAGES)


def outage_cause(error: BaseException) -> BaseException | None:
    """The exception (of `error` and what it wraps) that says the database cannot be reached, else None: the
    driver's own, deepest in the chain, says it best (`database "x" does not exist`, `Connect call failed`)."""
    outages = [cause for cause in _causes(error) if _is_outage(cause)]
    return outages[-1] if outages else None


def is_database_unavailable(error: BaseException) -> bool:
    return outage_cause(error) is not None
