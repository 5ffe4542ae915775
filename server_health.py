"""Liveness and readiness, for a process manager or a load balancer.

`/health/live`: the process answers (nothing else is asked: a database outage must not get it restarted).
`/health/ready`: 200 only when the database answers AND its migrations are at this code's head; 503 with the
reason otherwise, so no traffic reaches a replica that would fail every request. `/health` is the documented
check from before the two: the database answers.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sources.cache import migrate

logger = logging.getLogger("gateway.health")


def _unavailable(reason: str, **details: object) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason, **details}, status_code=503)


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


class Readiness:
    """The readiness check against the migrations shipped with this code (read once: they do not change while
    it runs)."""

    def __init__(self, code_heads: frozenset[str]) -> None:
        self.code_heads = code_heads

    async def check(self, request: Request) -> JSONResponse:
        engine: AsyncEngine = request.app.state.engine
        timeout: float = request.app.state.settings.health_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                database_heads = await migrate.current_heads(engine)
        except TimeoutError:
            logger.warning("readiness: the database did not answer within %s s", timeout)
            return _unavailable(f"the database did not answer within {timeout:g} s", database="timeout")
        except Exception as error:  # noqa: BLE001 - any failure to reach the database means not ready
            logger.warning("readiness: database unreachable: %r", error)
            return _unavailable("the database is unreachable", database="unreachable")
        return self._answer(database_heads)

    def _answer(self, database_heads: frozenset[str]) -> JSONResponse:
        code_heads = self.code_heads
        if database_heads != code_heads:
            return _unavailable(
                "the database's migrations are not at head: run `python server.py migrate`",
                database="ok",
                migrations={"database": sorted(database_heads), "head": sorted(code_heads)},
            )
        return JSONResponse({"status": "ok", "database": "ok", "migrations": {"head": sorted(code_heads)}})


async def health(request: Request) -> JSONResponse:
    """The process answers and the cache database does too."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        logger.exception("health check: database unreachable")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def health_routes() -> list[Route]:
    ready = Readiness(migrate.head_revisions())
    return [Route("/health", health), Route("/health/live", live), Route("/health/ready", ready.check)]
