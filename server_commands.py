"""The command line's work beside the server: tokens, signing keys, network files, the subgraph SDL, and the
master key both the server and these commands open (`server.py` registers the commands on its CLI)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
import click
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.printer import print_schema

from identity.principal import TOKEN_ROLES, Role
from identity.secrets import SecretBox, load_master_key
from identity.tokens import InvalidToken
from resolvers.authentication import Authenticator
from resolvers.outage import outage_cause
from schema import build_schema
from settings import Settings
from sources.cache import migrate
from sources.cache.database import create_engine
from sources.cache.signing_keys import rotate_signing_key
from sources.network.file import NetworkFileError, load_network_file

T = TypeVar("T")


def secret_box(settings: Settings) -> SecretBox:
    """The master key's hashes and cipher: from GATEWAY_SECRET_KEY, else the key file (created if missing)."""
    value = settings.secret_key.get_secret_value() if settings.secret_key is not None else None
    return SecretBox(load_master_key(value, settings.secret_key_file))


def run_on_database(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]], *, migrated: bool = True) -> T:
    """Run one piece of work against the configured cache database (migrated first unless the settings or
    `migrated` say not), as the CLI's commands do. A database that cannot be reached ends the command with
    one line naming it (its password hidden) and what the driver said, exit status 1, not a traceback."""

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            if migrated and settings.migrate_on_start:
                await migrate.upgrade(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except Exception as error:
        cause = outage_cause(error)
        if cause is None:
            raise
        click.echo(_unreachable(settings.database_url, cause), err=True)
        sys.exit(1)


def _unreachable(database_url: str, cause: BaseException) -> str:
    url = make_url(database_url)
    line = f"cannot open the database {url.render_as_string(hide_password=True)}: "
    line += " ".join(str(cause).split()) or type(cause).__name__
    if isinstance(cause, asyncpg.exceptions.InvalidCatalogNameError):
        # The server answered: only the database is missing, and the gateway never creates one itself.
        options = {"-h": url.host, "-p": url.port, "-U": url.username}
        createdb = " ".join(
            ["createdb", *(f"{flag} {value}" for flag, value in options.items() if value), str(url.database)]
        )
        line += f" (create it first: {createdb})"
    return line


def _key_of(given: str, type_name: str) -> str:
    """A cache key as tokens carry it; a global id copied from an answer (`Customer:cus_…`) is taken too."""
    prefix = f"{type_name}:"
    return given[len(prefix) :] if given.startswith(prefix) else given


@click.command("issue-token")
@click.option("--role", "role", required=True, type=click.Choice([role.value for role in TOKEN_ROLES]))
@click.option("--location", "locations", multiple=True, help="A location the token acts for (repeatable).")
@click.option("--customer", "customer_id", default=None, help="The customer a customer token is.")
@click.option("--resource", "resource_id", default=None, help="The resource (staff member) a shared_staff token is.")
@click.option("--subject", default=None, help="Who the token is for (default: the role).")
@click.option("--ttl", "ttl_seconds", default=None, type=click.IntRange(60, 366 * 86400), help="Seconds it is valid.")
@click.pass_obj
def issue_token_command(
    settings: Settings,
    role: str,
    locations: tuple[str, ...],
    customer_id: str | None,
    resource_id: str | None,
    subject: str | None,
    ttl_seconds: int | None,
) -> None:
    """Print a token the running gateway accepts (its last line)."""

    async def issue(engine: AsyncEngine) -> str:
        authenticator = Authenticator(engine, secret_box(settings), settings)
        await authenticator.prepare()
        return await authenticator.issue(
            Role(role),
            subject=subject or role,
            locations=[_key_of(location, "Location") for location in locations],
            customer_id=None if customer_id is None else _key_of(customer_id, "Customer"),
            resource_id=None if resource_id is None else _key_of(resource_id, "Resource"),
            ttl_seconds=ttl_seconds,
        )

    try:
        token = run_on_database(settings, issue)
    except InvalidToken as error:
        raise click.UsageError(str(error)) from error
    click.echo(token)


@click.command("rotate-signing-key")
@click.option("--grace", "grace_seconds", default=None, type=click.IntRange(0), help="Seconds the old key stays valid.")
@click.pass_obj
def rotate_signing_key_command(settings: Settings, grace_seconds: int | None) -> None:
    """Start signing with a new key; tokens of the previous one verify for the grace period."""
    grace = settings.signing_key_grace_seconds if grace_seconds is None else grace_seconds

    async def rotate(engine: AsyncEngine) -> str:
        return await rotate_signing_key(engine, secret_box(settings), grace_seconds=grace)

    click.echo(f"signing with key {run_on_database(settings, rotate)}; the previous key verifies for {grace} s more")


@click.command("check-network")
@click.argument("network_file", type=click.Path(path_type=Path))
def check_network_command(network_file: Path) -> None:
    """Validate a network file and the credentials it names (environment variables, files), without serving."""
    try:
        network = load_network_file(network_file)
    except NetworkFileError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
    click.echo(f"ok: {len(network.locations)} locations")


@click.command("print-sdl")
def print_sdl_command() -> None:
    """Print the gateway's Federation subgraph SDL (what `_service { sdl }` answers), to compose a supergraph
    from a file: also where introspection, and with it `_service`, is off."""
    click.echo(print_schema(build_schema()))
