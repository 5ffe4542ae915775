"""Gateway settings: environment variables prefixed GATEWAY_, or an optional .env file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sources.connectors.records import EntityType

DEFAULT_SQLITE_PATH = Path("var") / "gateway.sqlite3"
# A service category, as services.category holds it.
CategoryName = Annotated[str, Field(min_length=1, max_length=100)]


class RateLimit(BaseModel):
    """A token bucket: `burst` requests at once, refilled at `per_minute` (DESIGN.md "Security")."""

    model_config = ConfigDict(frozen=True)

    per_minute: float = Field(gt=0, description="Requests a minute, sustained")
    burst: int = Field(ge=1, description="Requests allowed back to back after a quiet spell")


Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=2, description="A share in percent, e.g. 30 or 12.5")]


class SplitRule(BaseModel):
    """An originating share other than the network default: for one service (`service_id`, a booking of it made
    anywhere), or for a pair of locations (`originating` and `service`). A service's rule wins over a pair's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    originating_percent: Percent
    service_id: str | None = Field(default=None, min_length=1, max_length=64)
    originating: str | None = Field(default=None, min_length=1, max_length=64)
    service: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_target(self) -> SplitRule:
        pair = self.originating is not None and self.service is not None
        if (self.service_id is not None) == pair or (not pair and (self.originating or self.service)):
            raise ValueError("a split rule names either a service_id or both `originating` and `service`")
        return self


def default_rate_limits() -> dict[str, RateLimit]:
    # Keyed by identity.principal.Role's values (settings sits below the layers and cannot import it).
    # People and services with network-wide roles drive dashboards and scripts: generous. A location
    # pushes its own bookings. Anonymous callers share one bucket: small.
    return {
        "network_admin": RateLimit(per_minute=60_000, burst=5_000),
        "hub_administrator": RateLimit(per_minute=30_000, burst=2_000),
        "location_manager": RateLimit(per_minute=6_000, burst=500),
        "franchisee": RateLimit(per_minute=6_000, burst=500),
        "shared_staff": RateLimit(per_minute=1_200, burst=200),
        "customer": RateLimit(per_minute=600, burst=100),
        "location": RateLimit(per_minute=6_000, burst=500),
        "anonymous": RateLimit(per_minute=120, burst=60),
    }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    network_file: Path | None = Field(
        default=None,
        description="The TOML network file naming the locations and where their credentials come from; when set, "
        'demo_network and simulate_locations are ignored (README.md, "Network file")',
    )
    demo_network: bool = Field(default=True, description="Load the demo network into an empty cache on start")
    migrate_on_start: bool = Field(default=True, description="Apply migrations on start (embedded default)")
    graphiql: bool = True
    introspection: bool = True
    default_page_size: int = 20
    max_page_size: int = 500
    default_max_age_seconds: int = 300
    compiled_reads: bool = Field(
        default=True,
        description="Answer queries the compiled read path covers from one SQL statement whose JSON the database "
        "builds (schema/compiled/); off: every query is executed field by field",
    )
    response_cache: bool = Field(
        default=True,
        description="Answer repeated queries (same text, variables and caller visibility) from memory until the "
        "cache database changes (schema/response_cache.py)",
    )
    response_cache_entries: int = Field(default=1000, ge=1, le=1_000_000, description="Answers the cache holds")
    originating_share_percent: int = Field(default=20, ge=0, le=100)
    revenue_split_rules: list[SplitRule] = Field(
        default_factory=list,
        max_length=1000,
        description='Originating shares per service or per pair of locations (JSON list; README.md, "Money")',
    )
    commission_calculation: Literal["percentage", "fixed"] = Field(
        default="percentage",
        description="percentage: each location's commission rate of its share; fixed: fixed_commission per share",
    )
    fixed_commission: dict[str, Annotated[Decimal, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict,
        max_length=200,
        description='Currency -> the fixed commission per share in major units, e.g. {"GBP": "1.50"}',
    )
    transfer_requires_approval: bool = Field(
        default=False, description="transferBooking needs `approved: true` (network policy)"
    )
    simulate_locations: bool = Field(
        default=True, description="Serve every location in the cache as a simulated live location (demo)"
    )
    heartbeat_seconds: float = Field(default=5.0, description="How often every location is asked how it is")
    outbox_poll_seconds: float = Field(default=0.5, description="How often the outbox worker looks for due writes")
    outbox_max_attempts: int = Field(default=8, description="Deliveries tried before a write is dead-lettered")
    outbox_backoff_seconds: float = Field(default=1.0, description="First retry delay; doubles each attempt")
    # -- sync engine (spec: sync settings) --
    sync_scheduler: bool = Field(default=True, description="Run scheduled delta pulls in the background")
    sync_frequency: Literal["realtime", "hourly", "daily"] = Field(
        default="realtime", description="How often each location is pulled; a location's sync_settings may override"
    )
    sync_realtime_seconds: float = Field(default=30.0, description="The interval `realtime` means, in seconds")
    sync_batch_size: int = Field(default=100, ge=1, le=1000, description="Records per page of a delta pull")
    sync_priority_order: list[EntityType] = Field(
        default_factory=lambda: list(EntityType), description="Order entity types are pulled in (default: all)"
    )
    sync_full_every_hours: float = Field(
        default=24.0, description="How often a scheduled pull is a full reconciliation (finds deletions)"
    )
    sync_job_lease_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A running job is held by a lease this long; one whose lease ran out lost its process and is "
        "taken over by the next trigger, which finishes it from its cursors",
    )
    sync_job_lease_renew_seconds: float = Field(
        default=2.0, gt=0, description="How often the process running a job renews its lease"
    )
    # -- the catalogue (README.md "Service categories") --
    network_categories: list[CategoryName] = Field(
        default_factory=list,
        max_length=500,
        description="The network's category vocabulary: what availability and createBooking(category:) search by; "
        "empty: every location's own category names are the network's",
    )
    category_mappings: dict[str, dict[CategoryName, CategoryName]] = Field(
        default_factory=dict,
        description='Per location id, its own category names to the network\'s, e.g. {"paris": {"Coupe": "hair"}}; '
        "the network file's [[locations]] `categories` add to (and win over) these",
    )
    conflict_strategy: Literal["hub_wins", "node_wins", "newest", "manual"] = Field(
        default="hub_wins", description="How concurrent changes are settled"
    )
    conflict_strategies: dict[str, Literal["hub_wins", "node_wins", "newest", "manual"]] = Field(
        default_factory=dict, description='Per entity type overrides, e.g. {"booking": "manual"}'
    )
    share_new_customers: bool = Field(
        default=True, description="A customer new at one location is sent to every other (unified customers)"
    )
    consent_required_for_sharing: bool = Field(
        default=False,
        description="A customer with no data-sharing consent record at all stays at their home location (on), or "
        "is shared as before consent was recorded (off); a recorded withdrawal or an expired grant always stops it",
    )
    connector_timeout_seconds: float = Field(default=5.0, description="Time limit of one call to a location")
    live_refresh_deadline_seconds: float = Field(
        default=3.0,
        gt=0,
        description="Time limit of a whole live refresh (every location, retries included); what missed it is "
        "served from cache and named in extensions.freshness",
    )
    idempotency_lease_seconds: float = Field(
        default=5.0,
        gt=0,
        description="A mutation holds its idempotency key by a lease this long, renewed while it runs; once a "
        "killed process's lease ran out, a retry with the key takes it over and finishes the write",
    )
    connector_breaker_reset_seconds: float = Field(
        default=10.0, description="How long a location's circuit stays open before one probe call is let through"
    )
    database_pool_size: int = 10
    log_sql: bool = False
    # -- operating (README.md "Operating") --
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="Log output of `python server.py`: one JSON object per line, or plain text; unset: text when "
        "stderr is a terminal, JSON otherwise (a service's collected output)",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level of the records logged"
    )

    @model_validator(mode="after")
    def _mapped_into_the_vocabulary(self) -> Settings:
        words = set(self.network_categories)
        for location_id, names in self.category_mappings.items():
            for own, network in names.items():
                if words and network not in words:
                    raise ValueError(
                        f'category_mappings: location "{location_id}": "{own}" maps to "{network}", '
                        "which is not one of network_categories"
                    )
        return self

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        # GATEWAY_LOG_LEVEL=info and GATEWAY_LOG_FORMAT=JSON mean what they say.
        if not isinstance(value, str):
            return value
        return value.upper() if value.lower() in ("debug", "info", "warning", "error") else value.lower()

    otel_enabled: bool = Field(
        default=False, description="Export OpenTelemetry traces (HTTP requests, SQL statements, calls to locations)"
    )
    otel_endpoint: str | None = Field(
        default=None,
        max_length=2000,
        description="OTLP/HTTP collector base URL (traces go to <url>/v1/traces); unset: the standard "
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318",
    )
    otel_service_name: str = Field(
        default="booking-gateway", max_length=200, description="`service.name` of the exported spans"
    )
    health_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, description="How long /health/ready waits for the database before answering 503"
    )
    event_bus: Literal["auto", "memory", "postgres"] = Field(
        default="auto",
        description="Where subscription events travel: auto = PostgreSQL LISTEN/NOTIFY when the database is "
        "PostgreSQL (every gateway process on it sees every change), else in memory (this process only)",
    )
    event_bus_channel: str = Field(default="gateway_events", description="The LISTEN/NOTIFY channel of the bus")
    # -- identity (DESIGN.md "Security") --
    secret_key: SecretStr | None = Field(
        default=None,
        description="Master key for secrets at rest (base64 of 32 bytes); unset: read from secret_key_file, "
        "which is created with a fresh key when missing",
    )
    secret_key_file: Path = Field(default=Path("var") / "secret.key", description="Where the master key is kept")
    jwt_issuer: str = Field(default="booking-gateway", description="`iss` of the tokens the gateway issues and accepts")
    jwt_audience: str = Field(default="booking-gateway", description="`aud` the gateway's tokens must carry")
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=600, description="Clock skew allowed on exp, nbf and iat")
    jwt_default_ttl_seconds: int = Field(default=3600, ge=60, le=366 * 86400, description="issue-token's default")
    jwks_file: Path | None = Field(default=None, description="RS256/ES256 public keys (a JWKS document) to accept")
    jwks_url: str | None = Field(default=None, description="A JWKS URL, fetched at start and refreshed")
    jwks_refresh_seconds: float = Field(default=300.0, gt=0, description="How often the JWKS is fetched again")
    jwks_min_refetch_seconds: float = Field(
        default=30.0, ge=0, description="An unknown kid fetches the JWKS again at most this often"
    )
    signing_keys_refresh_seconds: float = Field(
        default=15.0, gt=0, description="How often the signing keys are read again (a rotation by another process)"
    )
    signing_key_grace_seconds: int = Field(
        default=86400, ge=0, description="How long a rotated-out signing key still verifies tokens"
    )
    public_availability: bool = Field(
        default=False, description="Anonymous callers may ask for availability and the public catalogue"
    )
    credential_grace_seconds: int = Field(
        default=86400, ge=0, description="How long a location's rotated-out credentials are still accepted"
    )
    # -- the BookingX network API (shims/bookingx) --
    bookingx_supported_versions: str = Field(
        default=">=2.0,<3.0",
        max_length=200,
        description="Add-on versions a node may handshake with: comparisons joined by commas (>=, >, <=, <, ==)",
    )
    bookingx_open_registration: bool = Field(
        default=False, description="An unknown BookingX node that handshakes with a full description joins the network"
    )
    bookingx_token_ttl_seconds: int = Field(
        default=900, ge=60, le=86400, description="Life of the token a BookingX handshake answers"
    )
    bookingx_webhook_window_seconds: int = Field(
        default=300, ge=1, le=3600, description="How far a BookingX webhook's signed timestamp may be from our clock"
    )
    bookingx_webhook_max_bytes: int = Field(
        default=64 * 1024, ge=1024, le=1024 * 1024, description="Largest BookingX webhook body taken, in bytes"
    )
    demo_credentials_file: Path = Field(
        default=Path("var") / "demo-credentials.json",
        description="Where the embedded demo writes its admin token and its locations' credentials (mode 0600)",
    )
    demo_admin_token_ttl_seconds: int = Field(default=30 * 86400, ge=60, description="Life of the printed token")
    subscriber_queue_size: int = Field(
        default=1000, ge=1, description="Events held per subscriber; past it the oldest are dropped and counted"
    )
    # -- metrics (GET /metrics, README "Metrics") --
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, GET /metrics needs `Authorization: Bearer <this>` (Prometheus: authorization "
        "credentials); unset, the endpoint is open, as exporters usually are behind the network's own fence",
    )
    metrics_max_operation_names: int = Field(
        default=200,
        ge=1,
        le=10_000,
        description="Distinct GraphQL operation names given their own metric series; names seen after these "
        "are counted as `other`, so clients cannot grow the metrics without bound",
    )
    # -- limits (issue 10 §4: no one request can hurt the others) --
    max_query_cost: int = Field(
        default=100_000,
        ge=1,
        description="A GraphQL operation whose estimated cost (schema/cost.py) is above this is refused unexecuted",
    )
    heavy_query_cost: int = Field(
        default=10_000,
        ge=0,
        description="Queries whose estimated cost is at least this execute one at a time (schema/heavy_gate.py), so "
        "heavy ones cannot crowd the event loop out from under the light ones; 0: no turns",
    )
    max_depth: int = Field(default=12, ge=1, le=100, description="Deepest field nesting a GraphQL operation may have")
    max_aliases: int = Field(default=30, ge=1, description="Aliases one GraphQL operation may use")
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest HTTP request body and WebSocket message taken, in bytes"
    )
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=default_rate_limits,
        description="Per role (identity.principal.Role values): requests a minute and burst, for each principal; "
        "a role left out is not limited",
    )
