"""The gateway's app factory and command line.

python server.py                      serve on 127.0.0.1:8000 with the embedded SQLite cache
python server.py --port 9000          another port (--host, --database-url likewise)
python server.py migrate              apply migrations to the configured database
"""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import click
import uvicorn
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

import graphiql
from devnet.demo.generator import cache_is_empty, load_demo_network
from devnet.simulators.network import SimulatedNetwork
from identity.secrets import SecretBox, load_master_key
from resolvers.context import Context
from resolvers.rate_limit import TokenBuckets
from resolvers.services import Services
from schema import build_schema
from server_limits import BodySizeLimit
from settings import Settings
from shims.onebooking.push import onebooking_routes
from sources.cache import migrate
from sources.cache.database import create_engine
from sources.cache.models import Location
from sources.cache.writer import CacheWriter
from sources.connectors.registry import ConnectorRegistry, config_for, demo_credentials
from subscriptions.factory import open_event_bus
from sync.apply.batch import RuleBook
from sync.live.heartbeat import HeartbeatMonitor
from sync.live.refresh import Refresher
from sync.outbox.delivery import Deliverer, OutboxWorker
from sync.outbox.queue import RetryPolicy
from sync.pull.scheduler import SyncScheduler
from sync.pull.setup import apply_rules, build_scheduler, build_sync_engine

logger = logging.getLogger("gateway")


class GatewayGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with the gateway's request context and an offline GraphiQL."""

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        state = request.app.state
        return Context(
            engine=state.engine,
            settings=state.settings,
            bus=state.bus,
            request_id=request.headers.get("x-request-id") or uuid.uuid4().hex,
            opened_services=state.services,
        )

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql.graphiql_html())


async def health(request: Request) -> JSONResponse:
    """Liveness and readiness: the process answers and the cache database does too."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        logger.exception("health check: database unreachable")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def _tune_garbage_collection() -> None:
    # The schema and mappers are ~70k long-lived objects; full collections kept rescanning them
    # (a third of request time, ../shared/PERFORMANCE.md). Freeze them out of the young generations.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def _open_services(engine: AsyncEngine, settings: Settings, connectors: ConnectorRegistry) -> Services:
    """Connectors for every location, the outbox's deliverer and worker, and live refresh."""
    async with engine.connect() as connection:
        locations = (await connection.execute(select(Location))).all()
    for location in locations:
        connectors.build(
            config_for(
                location,
                demo_credentials(location),
                timeout_seconds=settings.connector_timeout_seconds,
                breaker_reset_seconds=settings.connector_breaker_reset_seconds,
            )
        )
    writer = CacheWriter(engine)
    bus = await open_event_bus(settings)  # closed by the lifespan through services.bus
    share_bp = settings.originating_share_percent * 100
    deliverer = Deliverer(
        writer,
        connectors,
        bus,
        originating_share_bp=share_bp,
        policy=RetryPolicy(max_attempts=settings.outbox_max_attempts, base_seconds=settings.outbox_backoff_seconds),
    )
    rule_book = RuleBook(apply_rules(settings, connectors))  # the one owner of the rules
    sync = build_sync_engine(settings, writer, connectors, bus, rule_book)
    refresher = Refresher(writer, connectors, rule_book=rule_book, on_applied=sync.publish_applied)
    await refresher.load_marks()
    worker = OutboxWorker(deliverer, poll_seconds=settings.outbox_poll_seconds)
    sync.wake_outbox = worker.wake
    deliverer.on_stale = lambda location_id: sync.request(location_id, "stale")
    return Services(
        engine,
        writer,
        bus,
        connectors,
        deliverer,
        refresher,
        worker,
        sync,
        secret_box(settings),
        rate_limits=TokenBuckets(settings.rate_limits),
    )


def secret_box(settings: Settings) -> SecretBox:
    """The master key's hashes and cipher: from GATEWAY_SECRET_KEY, else the key file (created if missing)."""
    value = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return SecretBox(load_master_key(value, settings.secret_key_file))


def _recover(services: Services) -> Callable[[list[str]], None]:
    """A location back online catches up from its cursor; what waited for it in the outbox goes too."""

    def recover(location_ids: list[str]) -> None:
        for location_id in location_ids:
            services.sync.request(location_id, "recovery")
        services.worker.wake()

    return recover


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    if settings.graphiql:
        graphiql.check_assets()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size, echo=settings.log_sql)
        simulators = SimulatedNetwork()
        connectors = ConnectorRegistry()
        services: Services | None = None
        heartbeat: HeartbeatMonitor | None = None
        scheduler: SyncScheduler | None = None
        try:
            if settings.migrate_on_start:
                await migrate.upgrade(engine)
            if settings.demo_network and await cache_is_empty(engine):
                summary = await load_demo_network(engine)
                logger.info("loaded the demo network: %s", summary)
            if settings.simulate_locations:
                await simulators.start(engine)
            services = await _open_services(engine, settings, connectors)
            if settings.simulate_locations:
                # The simulators were seeded from the cache a moment ago: the two agree now.
                await services.refresher.mark_all_fresh(list(simulators.locations))
                await simulators.record_baselines(services.writer)
            heartbeat = HeartbeatMonitor(
                services.writer,
                connectors,
                services.bus,
                interval_seconds=settings.heartbeat_seconds,
                on_back_online=_recover(services),
            )
            scheduler = build_scheduler(settings, services.sync)
            services.worker.start()
            heartbeat.start()
            if scheduler is not None:
                scheduler.start()
            app.state.loop = asyncio.get_running_loop()
            app.state.engine = engine
            app.state.settings = settings
            app.state.bus = services.bus
            app.state.services = services
            app.state.simulators = simulators
            app.state.heartbeat = heartbeat
            _tune_garbage_collection()
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            if heartbeat is not None:
                await heartbeat.stop()
            if services is not None:
                await services.sync.stop()
                await services.worker.stop()
                await services.bus.aclose()
            await connectors.aclose()
            await simulators.stop()
            await engine.dispose()

    graphql_app = GatewayGraphQL(
        build_schema(
            introspection=settings.introspection,
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_query_cost=settings.max_query_cost,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        ),
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
    )
    routes: list[Any] = [
        Route("/health", health),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),  # subscriptions (and any operation) over WebSocket
        *onebooking_routes(),
    ]
    if settings.graphiql:
        routes.append(Mount("/graphiql/assets", graphiql.assets_app()))
    # Outermost: an oversized body is refused before any route reads it.
    middleware = [Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


@click.group(invoke_without_command=True)
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default 8000).")
@click.option("--database-url", default=None, help="Cache database URL (default: embedded SQLite file).")
@click.pass_context
def cli(ctx: click.Context, host: str | None, port: int | None, database_url: str | None) -> None:
    """Run the booking network gateway."""
    overrides: dict[str, Any] = {"host": host, "port": port, "database_url": database_url}
    settings = Settings(**{name: value for name, value in overrides.items() if value is not None})
    ctx.obj = settings
    if ctx.invoked_subcommand is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # One line per heartbeat and delivery would drown the log; connector failures are logged by the gateway.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        click.echo(f"GraphiQL: http://{settings.host}:{settings.port}/graphql")
        # ws_max_size: uvicorn refuses an oversized WebSocket frame itself, before the app's limit would.
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="info",
            ws_max_size=settings.max_body_bytes,
        )


@cli.command("migrate")
@click.option("--revision", default="head", help="Target revision (default: the newest).")
@click.pass_obj
def migrate_command(settings: Settings, revision: str) -> None:
    """Apply the cache's migrations to the configured database."""

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await migrate.upgrade(engine, revision)
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    click.echo(f"database at revision {asyncio.run(run())}")


if __name__ == "__main__":
    cli()
