"""The gateway's app factory and command line.

python server.py                      serve on 127.0.0.1:8000 with the embedded SQLite cache
python server.py --port 9000          another port (--host, --database-url likewise)
python server.py migrate              apply migrations to the configured database
python server.py check-network FILE   validate a network file (and the credentials it names) without serving
python server.py issue-token --role R make a token (--location, --customer, --resource, --subject, --ttl)
python server.py rotate-signing-key   sign with a new key; the previous one verifies for the grace period
python server.py print-sdl            print the Federation subgraph SDL (`_service { sdl }`) for a composition
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route, WebSocketRoute

import graphiql
from devnet.demo.credentials import ensure_demo_credentials, write_demo_credentials
from devnet.demo.generator import cache_is_empty, load_demo_network
from devnet.simulators.network import SimulatedNetwork
from identity.principal import Role
from observability.http_metrics import HttpMetrics
from observability.logs import configure_logging, default_format
from observability.metrics import Metrics
from observability.requests import RequestLogging
from observability.tracing import TracedRequests, TracingSlot, open_tracing
from resolvers.authentication import Authenticator
from resolvers.rate_limit import TokenBuckets
from resolvers.response_cache import open_response_cache
from resolvers.services import Services
from schema import build_schema
from schema.http import AuthenticatedGraphQL
from schema.http_streams import HTTP_STREAM_TRANSPORTS, SUBSCRIPTION_PROTOCOLS
from server_commands import (
    check_network_command,
    issue_token_command,
    print_sdl_command,
    rotate_signing_key_command,
    run_on_database,
    secret_box,
)
from server_health import health_routes
from server_limits import BodySizeLimit
from server_metrics import metrics_endpoint
from settings import Settings
from shims.routes import shim_routes
from sources.cache import migrate
from sources.cache.database import create_engine
from sources.cache.models import Location
from sources.cache.single_reads import SqliteSingleReads
from sources.cache.writer import CacheWriter
from sources.connectors.registry import ConnectorRegistry, config_for
from sources.network.apply import apply_network
from sources.network.categories import CategoryMap, UnknownCategory
from sources.network.credentials import CredentialStore
from sources.network.file import NetworkFile, NetworkFileError, load_network_file
from subscriptions.factory import open_event_bus
from sync.apply.batch import RuleBook
from sync.live.heartbeat import HeartbeatMonitor
from sync.live.refresh import Refresher
from sync.outbox.delivery import Deliverer, OutboxWorker
from sync.outbox.queue import RetryPolicy
from sync.pull.scheduler import SyncScheduler
from sync.pull.setup import apply_rules, build_scheduler, build_sync_engine, split_rules

logger = logging.getLogger("gateway")
T = TypeVar("T")


class GatewayGraphQL(AuthenticatedGraphQL):
    """The authenticated GraphQL view, with an offline GraphiQL; subscriptions over SSE and multipart HTTP too."""

    stream_transport_classes_by_protocol = HTTP_STREAM_TRANSPORTS

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql.graphiql_html())


def _tune_garbage_collection() -> None:
    # The schema and mappers are ~70k long-lived objects; full collections kept rescanning them
    # (a third of request time when measured with bench/). Freeze them out of the young generations.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def _build_connectors(
    engine: AsyncEngine, settings: Settings, connectors: ConnectorRegistry, store: CredentialStore
) -> None:
    """A connector for every location that is not retired, with the credentials the store holds for it."""
    credentials = await store.current_of_active()
    async with engine.connect() as connection:
        locations = (await connection.execute(select(Location).where(Location.retired_at.is_(None)))).all()
    for location in locations:
        config = config_for(
            location,
            credentials.get(location.id, {}),
            timeout_seconds=settings.connector_timeout_seconds,
            breaker_reset_seconds=settings.connector_breaker_reset_seconds,
        )
        try:
            connectors.build(config)
        except ValueError:
            # A location without the credentials its kind needs is left unreachable, not the gateway unstarted.
            logger.exception("no connector for %s", location.id)


async def _open_services(
    writer: CacheWriter,
    settings: Settings,
    connectors: ConnectorRegistry,
    store: CredentialStore,
    authenticator: Authenticator,
    metrics: Metrics,
    categories: CategoryMap,
) -> Services:
    """Connectors for every location, the outbox's deliverer and worker, and live refresh."""
    await _build_connectors(writer.engine, settings, connectors, store)
    bus = await open_event_bus(settings, metrics)  # closed by the lifespan through services.bus
    deliverer = Deliverer(
        writer,
        connectors,
        bus,
        split=split_rules(settings),
        policy=RetryPolicy(max_attempts=settings.outbox_max_attempts, base_seconds=settings.outbox_backoff_seconds),
    )
    rule_book = RuleBook(apply_rules(settings, connectors))  # the one owner of the rules
    sync = build_sync_engine(settings, writer, connectors, bus, rule_book, metrics)
    refresher = Refresher(
        writer,
        connectors,
        rule_book=rule_book,
        on_applied=sync.publish_applied,
        deadline_seconds=settings.live_refresh_deadline_seconds,
    )
    await refresher.load_marks()
    worker = OutboxWorker(deliverer, poll_seconds=settings.outbox_poll_seconds)
    sync.wake_outbox = worker.wake
    deliverer.on_stale = lambda location_id: sync.request(location_id, "stale")
    return Services(
        writer.engine,
        writer,
        bus,
        connectors,
        deliverer,
        refresher,
        worker,
        sync,
        store.box,
        store,
        authenticator,
        rate_limits=TokenBuckets(settings.rate_limits),
        metrics=metrics,
        categories=categories,
        response_cache=open_response_cache(settings, writer.engine, bus),  # closed with the bus
    )


def _categories(settings: Settings, network: NetworkFile | None) -> CategoryMap:
    """The network's category vocabulary and mappings: the settings', then the network file's entries."""
    try:
        return CategoryMap.build(
            settings.network_categories,
            settings.category_mappings,
            {} if network is None else network.category_mappings,
        )
    except UnknownCategory as error:
        # Only the file's entries can fail here: the settings were checked when they were read.
        raise NetworkFileError(f"{settings.network_file}: {error}") from None


async def _demo_admin_token(authenticator: Authenticator, settings: Settings) -> str:
    """The embedded demo's network admin token, printed at start (DESIGN.md: no implicit admin)."""
    token = await authenticator.issue(
        Role.NETWORK_ADMIN, subject="demo-admin", ttl_seconds=settings.demo_admin_token_ttl_seconds
    )
    logger.info(
        "admin token (network_admin, valid %d days; send it as `Authorization: Bearer <token>`):\n%s",
        settings.demo_admin_token_ttl_seconds // 86400,
        token,
    )
    return token


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
    tracing_slot = TracingSlot()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tracing = open_tracing(settings.otel_service_name, settings.otel_endpoint) if settings.otel_enabled else None
        tracing_slot.tracing = tracing
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size, echo=settings.log_sql)
        single_reads = SqliteSingleReads.for_url(settings.database_url, size=settings.database_pool_size)
        if tracing is not None:
            tracing.instrument_engine(engine)
        simulators = SimulatedNetwork()
        # The app's one metrics registry: everything that records gets it from here (GET /metrics renders it).
        metrics = app.state.metrics = Metrics(max_operation_names=settings.metrics_max_operation_names)
        connectors = ConnectorRegistry(metrics, transport_factory=tracing.transport if tracing is not None else None)
        services: Services | None = None
        authenticator: Authenticator | None = None
        heartbeat: HeartbeatMonitor | None = None
        scheduler: SyncScheduler | None = None
        try:
            # An invalid network file (or a credential it names that cannot be read) stops the start here.
            network = None if settings.network_file is None else load_network_file(settings.network_file)
            categories = _categories(settings, network)
            if settings.migrate_on_start:
                await migrate.upgrade(engine)
            writer = CacheWriter(engine)
            box = secret_box(settings)
            store = CredentialStore(writer, box, grace_seconds=settings.credential_grace_seconds)
            authenticator = Authenticator(engine, box, settings)
            await authenticator.start()  # closed below, also when the start fails after this
            # With a network file the network is the file's: no demo data, no simulated locations.
            simulate = network is None and settings.simulate_locations
            if network is not None:
                applied = await apply_network(store, network)
                logger.info("applied the network file %s: %s", network.path, applied)
            elif settings.demo_network or settings.simulate_locations:
                if settings.demo_network and await cache_is_empty(engine):
                    summary = await load_demo_network(engine)
                    logger.info("loaded the demo network: %s", summary)
                demo_credentials = await ensure_demo_credentials(store, settings.demo_credentials_file)
                admin_token = app.state.admin_token = await _demo_admin_token(authenticator, settings)
                write_demo_credentials(settings.demo_credentials_file, admin_token, demo_credentials)
                logger.info("the demo's credentials are in %s", settings.demo_credentials_file)
            if simulate:
                await simulators.start(engine, store)
            services = await _open_services(writer, settings, connectors, store, authenticator, metrics, categories)
            if simulate:
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
                scheduler.start()  # its ticks also take over dead jobs
            else:
                services.sync.watch_leases()
            app.state.loop = asyncio.get_running_loop()
            app.state.engine = engine
            app.state.single_reads = single_reads
            app.state.settings = settings
            app.state.bus = services.bus
            app.state.services = services
            app.state.simulators = simulators
            app.state.heartbeat = heartbeat
            app.state.authenticator = services.authenticator
            _tune_garbage_collection()
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            if heartbeat is not None:
                await heartbeat.stop()
            if authenticator is not None:
                await authenticator.aclose()
            if services is not None:
                await services.sync.stop()
                await services.worker.stop()
                if services.response_cache is not None:
                    services.response_cache.close()
                await services.bus.aclose()
            await connectors.aclose()
            await simulators.stop()
            if single_reads is not None:
                await single_reads.close()
            await engine.dispose()
            tracing_slot.tracing = None
            if tracing is not None:
                await tracing.aclose()  # last: the spans of the shutdown are flushed too

    graphql_app = GatewayGraphQL(
        build_schema(
            introspection=settings.introspection,
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_query_cost=settings.max_query_cost,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
            heavy_query_cost=settings.heavy_query_cost,
        ),
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=SUBSCRIPTION_PROTOCOLS,
    )
    routes: list[Any] = [
        *health_routes(),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/graphql", graphql_app, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql_app),  # subscriptions (and any operation) over WebSocket
        *shim_routes(),
    ]
    if settings.graphiql:
        routes.append(Mount("/graphiql/assets", graphiql.assets_app()))
    # Outermost: every request (a refused one too) has its id and its access line, and is counted in the
    # metrics; then its trace, when traced; then the body limit, so an oversized body is refused before any
    # route reads it.
    middleware = [Middleware(RequestLogging), Middleware(HttpMetrics)]
    if settings.otel_enabled:
        middleware.append(Middleware(TracedRequests, slot=tracing_slot))
    middleware.append(Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes))
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
        configure_logging(settings.log_format or default_format(sys.stderr), settings.log_level)
        # One line per heartbeat and delivery would drown the log; connector failures are logged by the gateway.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        if settings.network_file is not None:
            # Refuse at once with the one line rather than a traceback from inside the lifespan.
            try:
                _categories(settings, load_network_file(settings.network_file))
            except NetworkFileError as error:
                click.echo(str(error), err=True)
                sys.exit(1)
        logger.info("GraphiQL: http://%s:%s/graphql", settings.host, settings.port)
        # ws_max_size: uvicorn refuses an oversized WebSocket frame itself, before the app's limit would.
        # log_config=None: uvicorn's loggers keep the one setup above (its own would replace it);
        # access_log=False: RequestLogging writes the access lines, with the request id, subject and operation.
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=None,
            access_log=False,
            ws_max_size=settings.max_body_bytes,
        )


@cli.command("migrate")
@click.option("--revision", default="head", help="Target revision (default: the newest).")
@click.pass_obj
def migrate_command(settings: Settings, revision: str) -> None:
    """Apply the cache's migrations to the configured database (which must exist: `createdb` it first)."""

    async def run(engine: AsyncEngine) -> str | None:
        await migrate.upgrade(engine, revision)
        return await migrate.current_revision(engine)

    click.echo(f"database at revision {run_on_database(settings, run, migrated=False)}")


for command in (check_network_command, issue_token_command, rotate_signing_key_command, print_sdl_command):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
