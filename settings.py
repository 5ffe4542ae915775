"""Gateway settings: environment variables prefixed GATEWAY_, or an optional .env file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "gateway.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    demo_network: bool = Field(default=True, description="Load the demo network into an empty cache on start")
    migrate_on_start: bool = Field(default=True, description="Apply migrations on start (embedded default)")
    graphiql: bool = True
    introspection: bool = True
    default_page_size: int = 20
    max_page_size: int = 500
    default_max_age_seconds: int = 300
    originating_share_percent: int = Field(default=20, ge=0, le=100)
    database_pool_size: int = 10
    log_sql: bool = False
