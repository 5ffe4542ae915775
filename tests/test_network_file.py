"""The network is configuration: a TOML file names real locations (here simulators on their own ports) and
where their credentials come from; the gateway serves exactly that network, keeps secrets only hashed or
encrypted, and retires what the file stops naming."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_helpers import wait_for
from network_helpers import SITES, Site, env_name, location_toml, start_site
from sqlalchemy import func, select, text

from conftest import RunningGateway, ThrowawayPostgres, start_gateway, stop_gateway
from devnet.demo.credentials import ensure_demo_credentials, write_demo_credentials
from devnet.demo.generator import load_demo_network
from devnet.simulators.server import SimulatorThread
from server_commands import secret_box
from settings import Settings
from sources.cache import migrate
from sources.cache.database import create_engine
from sources.cache.models import CustomerMapping, Location
from sources.cache.writer import CacheWriter
from sources.network.credentials import CredentialStore

FIRST_THREE = ("dublin-docks", "galway-studio", "kilkenny-web")

LOCATIONS = """{ locations(first: 50) { nodes {
  networkId kind timezone currency taxRatePercent commissionRatePercent isHub town baseUrl geo { latitude } } } }"""
LOCATION = """query($id: ID!) { location(id: $id) { networkId retiredAt } }"""
BOOKINGS_LIVE = "{ bookings(first: 1, maxAge: 0) { totalCount } }"
TRIGGER_SYNC = """mutation($input: TriggerSyncInput!) {
  triggerSync(input: $input) { errors { code message } syncJob { status } } }"""
UPDATE_CUSTOMER = """mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { errors { code message field } outcomes { locationId status code } } }"""
REGISTER = """mutation($input: RegisterLocationInput!) {
  registerLocation(input: $input) { apiKey errors { code message field } location { networkId kind } } }"""
ROTATE = """mutation($input: RotateLocationCredentialsInput!) {
  rotateLocationCredentials(input: $input) { apiKey previousKeyExpiresAt errors { code field } } }"""


@pytest.fixture(scope="module")
def sites(own_database_url: str) -> Iterator[dict[str, Site]]:
    """The locations, afresh for each backend's gateway (a run's writes and shared customers stay in the stores)."""
    thread = SimulatorThread()
    started = {location_id: start_site(thread, location_id) for location_id in SITES}
    try:
        yield started
    finally:
        for site in started.values():
            thread.run(site.location.stop())
        thread.close()


def _network(folder: Path, sites: dict[str, Site], ids: tuple[str, ...]) -> Path:
    """The network file for these sites; dublin-docks' secret and the hotel's key come from files."""
    file_for = {"dublin-docks": "api_secret", "cork-harbour-hotel": "api_key"}
    body = "\n".join(location_toml(sites[i], folder, file_for=file_for.get(i)) for i in ids)
    path = folder / "network.toml"
    path.write_text(body)
    return path


@pytest.fixture(scope="module")
def environment(sites: dict[str, Site]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for site in sites.values():
            for name, value in site.credentials.items():
                patch.setenv(env_name(site.location_id, name), value)
        yield


def _settings(database_url: str, network_file: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        network_file=network_file,
        sync_scheduler=False,
        heartbeat_seconds=0.3,
        outbox_poll_seconds=0.1,
        connector_timeout_seconds=2.0,
        **extra,
    )


@pytest.fixture(scope="module")
def networked(
    own_database_url: str, sites: dict[str, Site], environment: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    path = _network(tmp_path_factory.mktemp("network"), sites, ("dublin-docks", "galway-studio", "kilkenny-web"))
    running = start_gateway(_settings(own_database_url, path))
    try:
        yield running
    finally:
        stop_gateway(running)


def _ids(gateway: RunningGateway) -> set[str]:
    nodes = gateway.graphql(LOCATIONS)["data"]["locations"]["nodes"]
    return {node["networkId"] for node in nodes}


def _sync(gateway: RunningGateway, location_id: str) -> None:
    answer = gateway.graphql(TRIGGER_SYNC, {"input": {"locationId": f"Location:{location_id}", "wait": True}})
    assert answer["data"]["triggerSync"]["errors"] == [], answer


def _count(gateway: RunningGateway, model: Any, location_id: str) -> int:
    async def count() -> int:
        async with gateway.engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).where(model.location_id == location_id)) or 0)

    return gateway.run(count())


# -- the network the file names ---------------------------------------------------------------------
def test_the_gateway_serves_the_locations_the_file_names_and_nothing_of_the_demo(networked: RunningGateway) -> None:
    nodes = {node["networkId"]: node for node in networked.graphql(LOCATIONS)["data"]["locations"]["nodes"]}
    assert set(nodes) == set(FIRST_THREE)
    dublin = nodes["dublin-docks"]
    assert dublin["kind"] == "BOOKINGX" and dublin["isHub"] is True and dublin["town"] == "Dublin"
    assert dublin["timezone"] == "Europe/Dublin" and dublin["currency"] == "EUR"
    assert dublin["taxRatePercent"] == "23.00" or float(dublin["taxRatePercent"]) == 23
    assert float(dublin["commissionRatePercent"]) == 12.5
    assert networked.app.state.simulators.locations == {}
    assert {connector.location_id for connector in networked.app.state.services.connectors.all()} == set(FIRST_THREE)


def test_a_live_read_asks_the_files_locations(networked: RunningGateway) -> None:
    body = networked.graphql(BOOKINGS_LIVE)
    report = body["extensions"]["freshness"]
    assert report["dublin-docks"]["bookings"]["source"] == "live", report
    assert report["galway-studio"]["bookings"]["source"] == "live", report


def test_a_sync_pulls_and_a_write_reaches_the_location_with_the_files_credentials(
    networked: RunningGateway, sites: dict[str, Site]
) -> None:
    _sync(networked, "dublin-docks")
    assert _count(networked, CustomerMapping, "dublin-docks") >= 3

    async def customer_of_c000() -> str:
        async with networked.engine.connect() as connection:
            statement = select(CustomerMapping.customer_id).where(
                CustomerMapping.location_id == "dublin-docks", CustomerMapping.local_customer_id == "C-000"
            )
            return str(await connection.scalar(statement))

    customer_id = networked.run(customer_of_c000())
    variables = {"input": {"idempotencyKey": "net-1", "customerId": f"Customer:{customer_id}", "email": "new@ex.ie"}}
    result = networked.graphql(UPDATE_CUSTOMER, variables)["data"]["updateCustomer"]
    assert result["errors"] == [], result
    assert {"locationId": "Location:dublin-docks", "status": "DELIVERED", "code": None} in result["outcomes"]
    assert sites["dublin-docks"].store.customers["C-000"].email == "new@ex.ie"


SERVICES_AT = """query($ids: [ID!]) { services(filter: {locationIds: $ids}, first: 50) {
  nodes { localId name category price { minorUnits currency } location { networkId } } } }"""


def test_the_files_locations_get_their_services_by_a_service_sync(networked: RunningGateway) -> None:
    ids = ["Location:dublin-docks", "Location:galway-studio"]
    for location_id in ids:
        answer = networked.graphql(
            TRIGGER_SYNC, {"input": {"locationId": location_id, "entityTypes": ["SERVICE"], "wait": True}}
        )
        assert answer["data"]["triggerSync"]["errors"] == [], answer
        assert answer["data"]["triggerSync"]["syncJob"]["status"] == "COMPLETED", answer

    nodes = networked.graphql(SERVICES_AT, {"ids": ids})["data"]["services"]["nodes"]
    got = {(node["location"]["networkId"], node["localId"], node["price"]["minorUnits"]) for node in nodes}
    assert got == {("dublin-docks", "SV-1", 1000), ("galway-studio", "SV-1", 1000)}


def test_a_database_dump_holds_none_of_the_secrets(networked: RunningGateway, sites: dict[str, Site]) -> None:
    async def dump() -> str:
        async with networked.engine.connect() as connection:
            rows = [
                *(await connection.execute(text("SELECT * FROM location_credentials"))).all(),
                *(await connection.execute(text("SELECT * FROM locations"))).all(),
            ]
        return "\n".join(repr(tuple(row)) for row in rows)

    dumped = networked.run(dump())
    assert "location-credentials" not in dumped  # not even the purpose: ciphertexts only
    for location_id in FIRST_THREE:
        for secret in sites[location_id].credentials.values():
            assert secret not in dumped


# -- inbound keys: verified through the store, rotated with a grace ---------------------------------
def test_a_website_pushes_with_its_key_from_the_file_and_a_rotated_key_lasts_the_grace(
    networked: RunningGateway, sites: dict[str, Site]
) -> None:
    store: CredentialStore = networked.app.state.services.credentials
    old_key = sites["kilkenny-web"].credentials["inbound_api_key"]
    assert networked.run(store.verify(old_key, kind="onebooking")) == "kilkenny-web"
    unauthenticated = httpx.post(f"{networked.url}/api/bookings/sync", json={}, headers={"X-API-Key": "wrong"})
    assert unauthenticated.status_code == 401
    authenticated = httpx.post(f"{networked.url}/api/bookings/sync", json={}, headers={"X-API-Key": old_key})
    assert authenticated.status_code == 400  # past authentication: the empty body is the problem

    rotated = networked.graphql(ROTATE, {"input": {"locationId": "Location:kilkenny-web"}})
    answer = rotated["data"]["rotateLocationCredentials"]
    assert answer["errors"] == [] and answer["apiKey"] and answer["apiKey"] != old_key
    grace = timedelta(seconds=networked.app.state.settings.credential_grace_seconds)
    expires = datetime.fromisoformat(answer["previousKeyExpiresAt"])
    assert networked.run(store.verify(answer["apiKey"])) == "kilkenny-web"
    assert networked.run(store.verify(old_key, now=expires - timedelta(seconds=1))) == "kilkenny-web"
    assert networked.run(store.verify(old_key, now=expires + timedelta(seconds=1))) is None
    assert networked.run(store.verify(answer["apiKey"], now=expires + grace)) == "kilkenny-web"

    missing = networked.graphql(ROTATE, {"input": {"locationId": "Location:atlantis"}})
    assert missing["data"]["rotateLocationCredentials"]["errors"] == [{"code": "NOT_FOUND", "field": "locationId"}]


# -- locations joining at run time -----------------------------------------------------------------
def _registration(sites: dict[str, Site], **changes: Any) -> dict[str, Any]:
    hotel = sites["cork-harbour-hotel"]
    spec: dict[str, Any] = {
        "networkId": "cork-harbour-hotel",
        "name": "Cork Harbour Hotel",
        "kind": "PMS",
        "baseUrl": hotel.location.url,
        "timezone": "Europe/Dublin",
        "currency": "EUR",
        "town": "Cork",
        "latitude": 51.8985,
        "longitude": -8.4756,
        "taxRate": "13.5",
        "credentials": {"apiKey": hotel.credentials["api_key"]},
    }
    return {**spec, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Europe/Cork"}, "timezone"),
        ({"currency": "euro"}, "currency"),
        ({"latitude": 91.0}, "latitude"),
        ({"taxRate": "13.555"}, "taxRate"),
        ({"networkId": "Not A Slug"}, "networkId"),
        ({"credentials": {}}, "credentials"),
        ({"openingHours": {"monday": [18, 9]}}, "openingHours.monday"),
    ],
)
def test_a_registration_with_a_bad_field_is_invalid_input_naming_it(
    networked: RunningGateway, sites: dict[str, Site], changes: dict[str, Any], field: str
) -> None:
    answer = networked.graphql(REGISTER, {"input": _registration(sites, **changes)})["data"]["registerLocation"]
    assert answer["apiKey"] is None and answer["location"] is None
    assert [(e["code"], e["field"]) for e in answer["errors"]] == [("INVALID_INPUT", field)], answer


def test_a_registered_location_gets_a_connector_its_key_once_and_a_taken_id_is_a_conflict(
    networked: RunningGateway, sites: dict[str, Site]
) -> None:
    answer = networked.graphql(REGISTER, {"input": _registration(sites)})["data"]["registerLocation"]
    assert answer["errors"] == [] and answer["location"] == {"networkId": "cork-harbour-hotel", "kind": "PMS"}
    store: CredentialStore = networked.app.state.services.credentials
    assert networked.run(store.verify(answer["apiKey"])) == "cork-harbour-hotel"
    assert networked.app.state.services.connectors.get("cork-harbour-hotel") is not None
    assert "cork-harbour-hotel" in _ids(networked)
    # Registration starts its first pull: the hotel's guests arrive without a triggerSync.
    wait_for(lambda: _count(networked, CustomerMapping, "cork-harbour-hotel") >= 1, 20, "the first pull")

    again = networked.graphql(REGISTER, {"input": _registration(sites)})["data"]["registerLocation"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("CONFLICT", "networkId")]


# -- the file changes between starts ---------------------------------------------------------------
@pytest.fixture
def fresh_database_url(own_database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the module's backend."""
    if own_database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restarts.sqlite3'}"
        return
    database = ThrowawayPostgres()
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


def test_a_location_added_to_the_file_joins_and_one_removed_is_retired_with_its_data_kept(
    fresh_database_url: str, sites: dict[str, Site], environment: None, tmp_path: Path
) -> None:
    first = start_gateway(_settings(fresh_database_url, _network(tmp_path, sites, ("dublin-docks", "galway-studio"))))
    try:
        assert _ids(first) == {"dublin-docks", "galway-studio"}
        _sync(first, "galway-studio")
        kept = _count(first, CustomerMapping, "galway-studio")
        assert kept >= 3
    finally:
        stop_gateway(first)

    path = _network(tmp_path, sites, ("dublin-docks", "cork-harbour-hotel"))
    second = start_gateway(_settings(fresh_database_url, path))
    try:
        assert _ids(second) == {"dublin-docks", "cork-harbour-hotel"}
        assert second.app.state.services.connectors.get("galway-studio") is None
        assert second.app.state.services.connectors.get("cork-harbour-hotel") is not None
        retired = second.graphql(LOCATION, {"id": "Location:galway-studio"})["data"]["location"]
        assert retired["networkId"] == "galway-studio" and retired["retiredAt"] is not None
        assert _count(second, CustomerMapping, "galway-studio") == kept
    finally:
        stop_gateway(second)

    # Named again, it comes back.
    third = start_gateway(_settings(fresh_database_url, _network(tmp_path, sites, ("dublin-docks", "galway-studio"))))
    try:
        assert _ids(third) == {"dublin-docks", "galway-studio"}
        assert third.graphql(LOCATION, {"id": "Location:galway-studio"})["data"]["location"]["retiredAt"] is None
    finally:
        stop_gateway(third)


# -- the embedded demo's credentials ---------------------------------------------------------------
async def _demo_credentials(url: str, folder: Path) -> dict[str, dict[str, str]]:
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            empty = (await connection.scalar(select(func.count()).select_from(Location))) == 0
        if empty:
            await load_demo_network(engine)
        settings = Settings(secret_key_file=folder / "secret.key")
        store = CredentialStore(CacheWriter(engine), secret_box(settings), grace_seconds=0)
        path = folder / "demo-credentials.json"
        made = await ensure_demo_credentials(store, path)
        write_demo_credentials(path, "", made)
        return made
    finally:
        await engine.dispose()


def test_the_demos_credentials_are_random_kept_across_restarts_and_written_0600(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    first = asyncio.run(_demo_credentials(f"sqlite+aiosqlite:///{one / 'cache.sqlite3'}", one))
    other = asyncio.run(_demo_credentials(f"sqlite+aiosqlite:///{two / 'cache.sqlite3'}", two))
    assert set(first) == set(other) and len(first) == 6  # five salons and the hotel
    for location_id in first:
        assert not set(first[location_id].values()) & set(other[location_id].values())
        for value in first[location_id].values():
            assert location_id not in value  # nothing derived from the id
    written = one / "demo-credentials.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    again = asyncio.run(_demo_credentials(f"sqlite+aiosqlite:///{one / 'cache.sqlite3'}", one))
    assert again == first
