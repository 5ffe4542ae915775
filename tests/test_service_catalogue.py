"""The service catalogue: services pulled by delta from the locations, priced for new bookings, retired when gone,
and found by the network's category words through each location's mapping.

One gateway per backend over the demo network's simulated locations (real HTTP apps), its category vocabulary
and one location's mapping configured. What a location's staff would change in its own admin, the tests change
in the simulated site's store; the gateway learns of it only by pulling.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from clock import session_instant
from live_helpers import cache_counts, cache_row, customer_known_at, free_slot
from sqlalchemy import select

from conftest import LIVE_SETTINGS, RunningGateway, start_gateway, stop_gateway
from devnet.demo.catalog import SERVICES
from devnet.simulators.store_records import StoredService
from identity.principal import Role
from settings import Settings
from sources.cache.models import Location, Service, SyncJob

MANCHESTER, STOCKPORT, DUBLIN = "manchester-central", "stockport-merseyway", "dublin-ranelagh"
LEEDS = "leeds-headingley"  # a booking platform: its API lists the whole service menu, with no change feed
SALFORD = "salford-quays"  # a OneBooking website: it pushes its bookings and lists nothing
VOCABULARY = sorted({service.category for service in SERVICES} | {"room", "spa"})
MAPPINGS = {STOCKPORT: {"Hammam": "spa", "Coiffure": "hair"}}
HAMMAM = "hammam-ritual"  # a service Stockport starts offering

TRIGGER_SYNC = """
mutation Trigger($input: TriggerSyncInput!) {
  triggerSync(input: $input) {
    syncJob { status full appliedCount deletedCount errorMessage
              logs { syncType operation status entityCount errorDetails } }
    errors { code message field }
  }
}
"""

SERVICES_OF = """
query Services($filter: ServiceFilterInput) {
  services(filter: $filter, first: 100) {
    edges { node { networkId localId name category networkCategory isActive durationMinutes
                   price { minorUnits currency } location { id } } }
  }
}
"""

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) {
  createBooking(input: $input) {
    booking { id price { minorUnits currency } service { networkId } serviceLocation { id } }
    errors { code message field }
  }
}
"""

BOOKING_PRICE = "query($id: ID!) { node(id: $id) { ... on Booking { price { minorUnits currency } } } }"

AVAILABILITY = """
query($input: AvailabilityInput!) {
  availability(input: $input) {
    locations { location { id } service { networkId category networkCategory } }
  }
}
"""


@pytest.fixture(scope="module")
def catalogue_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    settings = Settings(
        database_url=own_database_url,
        demo_network=True,
        network_categories=VOCABULARY,
        category_mappings=MAPPINGS,
        **LIVE_SETTINGS,
    )
    running = start_gateway(settings)
    try:
        yield running
    finally:
        stop_gateway(running)


def _token(gateway: RunningGateway, role: Role, *locations: str) -> dict[str, str]:
    token = gateway.run(gateway.app.state.authenticator.issue(role, subject=f"test-{role.value}", locations=locations))
    return {"Authorization": f"Bearer {token}"}


def _sync(
    gateway: RunningGateway,
    location_id: str,
    *,
    full: bool = False,
    headers: dict[str, str] | None = None,
    entity_types: tuple[str, ...] = ("SERVICE",),
) -> dict[str, Any]:
    """A SERVICE sync of one location (or of `entity_types`), run to its end, as that location's manager."""
    variables = {
        "input": {
            "locationId": f"Location:{location_id}",
            "entityTypes": list(entity_types),
            "full": full,
            "wait": True,
        }
    }
    body = gateway.graphql(
        TRIGGER_SYNC, variables, headers=headers or _token(gateway, Role.LOCATION_MANAGER, location_id)
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["triggerSync"]
    return payload


def _services(gateway: RunningGateway, location_id: str) -> dict[str, dict[str, Any]]:
    """The location's services as the catalogue shows them (inactive ones too), by their local id."""
    variables = {"filter": {"locationIds": [f"Location:{location_id}"], "includeInactive": True}}
    body = gateway.graphql(SERVICES_OF, variables)
    assert "errors" not in body, body
    return {edge["node"]["localId"]: edge["node"] for edge in body["data"]["services"]["edges"]}


def _book(gateway: RunningGateway, **fields: Any) -> dict[str, Any]:
    body = gateway.graphql(CREATE_BOOKING, {"input": {"idempotencyKey": uuid.uuid4().hex, **fields}})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createBooking"]
    return payload


def _local_id(gateway: RunningGateway, service_id: str) -> str:
    service = cache_row(gateway, Service, service_id)
    local_id: str = service.local_service_id
    return local_id


def _service_in(gateway: RunningGateway, location_id: str, category: str) -> str:
    """The local id of one of the site's active services in `category`."""
    store = gateway.store(location_id)
    return next(s.local_id for s in sorted(store.services.values(), key=lambda s: s.local_id) if s.category == category)


def _add_hammam(gateway: RunningGateway) -> None:
    """Stockport starts offering a service in a category of its own words (which its mapping calls spa)."""
    store = gateway.store(STOCKPORT)
    store.add_service(
        StoredService(
            local_id=HAMMAM,
            name="Hammam ritual",
            category="Hammam",
            skill="therapist",
            duration_minutes=60,
            price_minor=7900,
            currency=store.currency,
        )
    )


def _first_free_start(gateway: RunningGateway, location_id: str, local_service_id: str) -> str:
    store = gateway.store(location_id)
    first_day = (session_instant().astimezone(UTC) + timedelta(days=50)).replace(hour=0, minute=0, second=0)
    for day in (first_day + timedelta(days=offset) for offset in range(7)):
        slots = store.free_slots(local_service_id, day, day + timedelta(days=1))
        if slots:
            return slots[0][1].astimezone(UTC).isoformat()
    raise AssertionError(f"no free slot for {local_service_id} at {location_id}")


def test_a_price_change_at_a_bookingx_site_prices_new_bookings_and_old_ones_keep_theirs(
    catalogue_gateway: RunningGateway,
) -> None:
    gateway = catalogue_gateway
    slot = free_slot(gateway, MANCHESTER, days_ahead=45)
    customer = f"Customer:{customer_known_at(gateway, MANCHESTER)}"
    before = _book(
        gateway, serviceId=f"Service:{slot.service_id}", startAt=slot.start_at.isoformat(), customerId=customer
    )
    assert before["errors"] == [], before
    assert before["booking"]["price"]["minorUnits"] == slot.price_minor
    local_id = _local_id(gateway, slot.service_id)
    new_price = slot.price_minor + 750

    gateway.store(MANCHESTER).change_service(local_id, price_minor=new_price)
    synced = _sync(gateway, MANCHESTER)

    assert synced["errors"] == [], synced
    job = synced["syncJob"]
    assert (job["status"], job["appliedCount"], job["errorMessage"]) == ("COMPLETED", 1, None)
    assert [(log["syncType"], log["operation"], log["status"]) for log in job["logs"]] == [
        ("services", "delta", "completed")
    ]
    assert _services(gateway, MANCHESTER)[local_id]["price"] == {"minorUnits": new_price, "currency": slot.currency}
    later = free_slot(gateway, MANCHESTER, days_ahead=45, skip=1)
    after = _book(
        gateway, serviceId=f"Service:{slot.service_id}", startAt=later.start_at.isoformat(), customerId=customer
    )
    assert after["errors"] == [], after
    assert after["booking"]["price"]["minorUnits"] == new_price
    kept = gateway.graphql(BOOKING_PRICE, {"id": before["booking"]["id"]})["data"]["node"]
    assert kept["price"]["minorUnits"] == slot.price_minor
    # The site was sent the new price too: it is what the location will charge.
    [at_site] = [
        b for b in gateway.store(MANCHESTER).bookings.values() if b.global_id == after["booking"]["id"].split(":")[1]
    ]
    assert at_site.price_minor == new_price


def test_a_service_the_site_stops_offering_is_retired_kept_and_no_longer_bookable(
    catalogue_gateway: RunningGateway,
) -> None:
    gateway = catalogue_gateway
    slot = free_slot(gateway, DUBLIN, days_ahead=55)
    local_id = _local_id(gateway, slot.service_id)
    gateway.store(DUBLIN).change_service(local_id, is_active=False)

    job = _sync(gateway, DUBLIN)["syncJob"]
    assert (job["status"], job["appliedCount"]) == ("COMPLETED", 1)

    listed = _services(gateway, DUBLIN)[local_id]
    assert listed["isActive"] is False  # kept, for the bookings and revenue that name it
    counts = cache_counts(gateway)
    refused = _book(
        gateway,
        serviceId=f"Service:{slot.service_id}",
        startAt=slot.start_at.isoformat(),
        customerId=f"Customer:{customer_known_at(gateway, DUBLIN)}",
    )
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID_INPUT", "serviceId")]
    assert refused["booking"] is None
    assert cache_counts(gateway) == counts


def test_a_service_deleted_at_the_site_is_retired_by_a_full_sync_not_deleted(catalogue_gateway: RunningGateway) -> None:
    gateway = catalogue_gateway
    local_id = _service_in(gateway, STOCKPORT, "fitness")  # its bookings keep naming it
    gateway.store(STOCKPORT).remove_service(local_id)

    # A delta shows what changed, never what is gone; the full reconciliation finds it missing.
    assert _services(gateway, STOCKPORT)[local_id]["isActive"] is True
    job = _sync(gateway, STOCKPORT, full=True)["syncJob"]

    assert (job["status"], job["full"], job["deletedCount"]) == ("COMPLETED", True, 1)
    assert [(log["syncType"], log["operation"]) for log in job["logs"]] == [("services", "full")]
    assert _services(gateway, STOCKPORT)[local_id]["isActive"] is False


def test_a_service_new_at_the_site_appears_in_its_own_category_mapped_to_the_networks(
    catalogue_gateway: RunningGateway,
) -> None:
    gateway = catalogue_gateway
    _add_hammam(gateway)

    job = _sync(gateway, STOCKPORT)["syncJob"]

    assert (job["status"], job["appliedCount"]) == ("COMPLETED", 1)
    [log] = job["logs"]
    assert (log["syncType"], log["status"], log["entityCount"]) == ("services", "completed", 1)
    new = _services(gateway, STOCKPORT)[HAMMAM]
    assert (new["name"], new["category"], new["networkCategory"]) == ("Hammam ritual", "Hammam", "spa")
    assert (new["price"]["minorUnits"], new["durationMinutes"], new["isActive"]) == (7900, 60, True)


def test_availability_and_create_booking_by_category_find_a_location_by_its_own_word_for_it(
    catalogue_gateway: RunningGateway,
) -> None:
    gateway = catalogue_gateway
    if HAMMAM not in gateway.store(STOCKPORT).services:  # the test before adds it; this one may run alone
        _add_hammam(gateway)
        _sync(gateway, STOCKPORT)
    start = _first_free_start(gateway, STOCKPORT, HAMMAM)
    window_end = (session_instant().astimezone(UTC) + timedelta(days=58)).isoformat()
    stockport = cache_row(gateway, Location, STOCKPORT)
    near = {"latitude": stockport.latitude, "longitude": stockport.longitude}

    pooled = gateway.graphql(AVAILABILITY, {"input": {"category": "spa", "from": start, "to": window_end}})
    booked = _book(
        gateway,
        category="spa",
        near=near,
        startAt=start,
        customerId=f"Customer:{customer_known_at(gateway, STOCKPORT)}",
    )

    assert "errors" not in pooled, pooled
    [offer] = pooled["data"]["availability"]["locations"]
    assert offer["location"]["id"] == f"Location:{STOCKPORT}"
    assert (offer["service"]["category"], offer["service"]["networkCategory"]) == ("Hammam", "spa")
    assert booked["errors"] == [], booked
    assert booked["booking"]["serviceLocation"]["id"] == f"Location:{STOCKPORT}"
    assert booked["booking"]["price"]["minorUnits"] == 7900


def test_a_category_the_location_has_not_mapped_is_reported_and_never_merged(catalogue_gateway: RunningGateway) -> None:
    gateway = catalogue_gateway
    slot = free_slot(gateway, DUBLIN, days_ahead=60)
    local_id = _local_id(gateway, slot.service_id)
    gateway.store(DUBLIN).change_service(local_id, category="Barbering")
    # Stockport calls hair "Coiffure" and has said so; a word it has not mapped would be unmapped there too.
    stockport_hair = _service_in(gateway, STOCKPORT, "hair")
    gateway.store(STOCKPORT).change_service(stockport_hair, category="Coiffure")
    _sync(gateway, DUBLIN)
    _sync(gateway, STOCKPORT)

    dublin = _services(gateway, DUBLIN)[local_id]
    mapped = _services(gateway, STOCKPORT)[stockport_hair]
    start = slot.start_at.isoformat()
    end = (slot.start_at + timedelta(days=2)).isoformat()
    pooled = gateway.graphql(AVAILABILITY, {"input": {"category": "Barbering", "from": start, "to": end}})
    hair = gateway.graphql(AVAILABILITY, {"input": {"category": "hair", "from": start, "to": end}})

    assert (dublin["category"], dublin["networkCategory"]) == ("Barbering", None)
    assert (mapped["category"], mapped["networkCategory"]) == ("Coiffure", "hair")
    [error] = pooled["errors"]  # the location's own word is no network category: a search cannot name it
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_INPUT", "category")
    offered = {entry["service"]["networkId"] for entry in hair["data"]["availability"]["locations"]}
    assert slot.service_id not in offered
    assert mapped["networkId"] in offered


def test_a_category_outside_the_vocabulary_is_a_typed_error_that_books_nothing(
    catalogue_gateway: RunningGateway,
) -> None:
    gateway = catalogue_gateway
    slot = free_slot(gateway, MANCHESTER, days_ahead=65)
    counts = cache_counts(gateway)
    site_bookings = len(gateway.store(MANCHESTER).bookings)

    refused = _book(
        gateway,
        category="astrology",
        originatingLocationId=f"Location:{MANCHESTER}",
        startAt=slot.start_at.isoformat(),
        customerId=f"Customer:{customer_known_at(gateway, MANCHESTER)}",
    )

    [error] = refused["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "category")
    assert "hair" in error["message"]  # it names the network's categories
    assert refused["booking"] is None
    assert cache_counts(gateway) == counts
    assert len(gateway.store(MANCHESTER).bookings) == site_bookings


def test_a_platform_lists_its_whole_menu_so_a_dropped_service_is_retired_by_a_delta(
    catalogue_gateway: RunningGateway,
) -> None:
    gateway = catalogue_gateway
    store = gateway.store(LEEDS)
    repriced = free_slot(gateway, LEEDS, days_ahead=45)
    repriced_local = _local_id(gateway, repriced.service_id)
    dropped = next(
        local for local in sorted(store.services) if local != repriced_local and store.services[local].is_active
    )
    store.change_service(repriced_local, price_minor=repriced.price_minor + 100)
    store.remove_service(dropped)

    job = _sync(gateway, LEEDS)["syncJob"]

    assert (job["status"], job["full"], job["appliedCount"], job["deletedCount"]) == ("COMPLETED", False, 1, 1)
    listed = _services(gateway, LEEDS)
    assert listed[repriced_local]["price"]["minorUnits"] == repriced.price_minor + 100
    assert listed[dropped]["isActive"] is False


def test_what_a_location_cannot_list_is_a_skipped_step_saying_why_not_an_error(
    catalogue_gateway: RunningGateway,
) -> None:
    gateway = catalogue_gateway

    synced = _sync(gateway, LEEDS, entity_types=("SERVICE", "INVENTORY"))  # a platform keeps no stock

    assert synced["errors"] == [], synced
    job = synced["syncJob"]
    assert (job["status"], job["errorMessage"]) == ("COMPLETED", None)
    steps = {log["syncType"]: log for log in job["logs"]}
    assert steps["services"]["status"] == "completed"
    assert steps["inventory"]["status"] == "skipped"
    assert "cannot read stock" in steps["inventory"]["errorDetails"]


def test_a_website_that_only_pushes_is_not_asked_for_services_and_says_why(catalogue_gateway: RunningGateway) -> None:
    gateway = catalogue_gateway

    refused = _sync(gateway, SALFORD, headers=gateway.headers)

    [error] = refused["errors"]
    assert error["code"] == "INVALID_INPUT"
    assert "pushes" in error["message"]
    assert refused["syncJob"] is None


def test_only_roles_that_operate_sync_may_pull_services(catalogue_gateway: RunningGateway) -> None:
    gateway = catalogue_gateway
    variables = {"input": {"locationId": f"Location:{MANCHESTER}", "entityTypes": ["SERVICE"], "wait": True}}

    async def jobs() -> int:
        async with gateway.engine.connect() as connection:
            return len((await connection.execute(select(SyncJob.id))).all())

    before = gateway.run(jobs())
    # A franchisee runs one location's business but nothing that reaches into the network's sync.
    body = gateway.graphql(TRIGGER_SYNC, variables, headers=_token(gateway, Role.FRANCHISEE, MANCHESTER))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body
    assert gateway.run(jobs()) == before
