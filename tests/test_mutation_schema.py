"""The GraphQL layer of writes: inputs become the resolvers' arguments, answers become payloads.

The write functions themselves are replaced by recording fakes (the end-to-end tests exercise them);
everything else is real: the schema, the request Context and a demo cache on SQLite, from which
payloads read the written entities back.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
import strawberry
from sqlalchemy import select, update

from devnet.demo.generator import load_demo_network
from resolvers.bookings import change as booking_writes
from resolvers.bookings import create as booking_create_writes
from resolvers.bookings import transfer as transfer_writes
from resolvers.bookings.create import CreateBooking, NewCustomer
from resolvers.catalog import sharing as resource_writes
from resolvers.context import Context
from resolvers.customers import commands as customer_writes
from resolvers.customers.commands import CustomerChanges
from resolvers.errors import ConflictError, ErrorCode, InsufficientStockError, InvalidInputError, SlotUnavailableError
from resolvers.inventory import stock as stock_writes
from resolvers.results import WriteResult
from resolvers.sync_admin import outbox_replay as outbox_writes
from schema import build_schema
from schema.payloads import MutationErrorCode
from settings import Settings
from sources.cache.database import create_engine
from sources.cache.models import Base, Booking, Customer, OutboxMessage, Resource, StockLevel
from subscriptions.bus import InMemoryEventBus
from sync.outbox.delivery import DeliveryOutcome, DeliveryStatus

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
START = "2030-03-04T10:00:00+00:00"


@dataclass(frozen=True)
class Demo:
    """Keys of demo rows the tests write about."""

    path: Path
    booking: str
    booking_location: str
    other_booking: str
    customer: str
    other_customer: str
    resource: str
    location: str
    other_location: str
    item: str
    item_locations: tuple[str, str]
    outbox_message: str


async def _build(path: Path) -> Demo:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await load_demo_network(engine, seed=7, now=NOW)
        async with engine.connect() as connection:

            async def keys(statement: Any) -> list[Any]:
                return list((await connection.execute(statement)).all())

            bookings = await keys(
                select(Booking.id, Booking.service_location_id)
                .where(Booking.status == "confirmed")
                .order_by(Booking.id)
                .limit(2)
            )
            customers = await keys(select(Customer.id).order_by(Customer.id).limit(2))
            resource = (await keys(select(Resource.id, Resource.location_id).order_by(Resource.id).limit(1)))[0]
            levels = await keys(select(StockLevel.item_id, StockLevel.location_id).order_by(StockLevel.id))
            item = levels[0].item_id
            item_locations = [row.location_id for row in levels if row.item_id == item][:2]
            message = (await keys(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(1)))[0].id
            other = next(row.location_id for row in levels if row.location_id != resource.location_id)
    finally:
        await engine.dispose()
    return Demo(
        path=path,
        booking=bookings[0].id,
        booking_location=bookings[0].service_location_id,
        other_booking=bookings[1].id,
        customer=customers[0].id,
        other_customer=customers[1].id,
        resource=resource.id,
        location=resource.location_id,
        other_location=other,
        item=item,
        item_locations=(item_locations[0], item_locations[1]),
        outbox_message=message,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return asyncio.run(_build(tmp_path_factory.mktemp("mutations") / "cache.sqlite3"))


@pytest_asyncio.fixture
async def context(demo: Demo, tmp_path: Path) -> AsyncIterator[Context]:
    """A real request context over a copy of the demo cache, so a test may change rows."""
    path = tmp_path / "cache.sqlite3"
    shutil.copyfile(demo.path, path)
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url, pool_size=2)
    try:
        yield Context(
            engine=engine,
            settings=Settings(database_url=url, demo_network=False),
            bus=InMemoryEventBus(),
            request_id="req-mutations",
        )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def schema() -> strawberry.Schema:
    return build_schema()


@dataclass
class FakeWrite:
    """Stands in for a resolver command: records its arguments, answers or raises."""

    answer: WriteResult | BaseException
    calls: list[dict[str, Any]] = field(default_factory=list)
    before_answer: Any = None  # an async callable run with the context, e.g. to change the cache

    async def __call__(self, context: Context, *args: Any, **kwargs: Any) -> WriteResult:
        self.calls.append({"args": args, **kwargs})
        if self.before_answer is not None:
            await self.before_answer(context)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def fake(
    monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, answer: WriteResult | BaseException
) -> FakeWrite:
    write = FakeWrite(answer)
    monkeypatch.setattr(module, name, write)
    return write


def delivered(location: str, message: str = "msg_1") -> DeliveryOutcome:
    return DeliveryOutcome(location, message, DeliveryStatus.DELIVERED)


async def run(schema: strawberry.Schema, context: Context, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = await schema.execute(document, variable_values=variables, context_value=context)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


OUTCOMES = "outcomes { locationId location { networkId } status code reason outboxMessageId }"
ERRORS = "errors { code message field }"

CREATE_BOOKING = f"""
mutation($input: CreateBookingInput!) {{
  createBooking(input: $input) {{ booking {{ id networkId status }} {OUTCOMES} {ERRORS} }}
}}
"""


def create_input(demo: Demo, **changes: Any) -> dict[str, Any]:
    return {"idempotencyKey": "key-1", "startAt": START, "serviceId": "Service:svc_1", **changes}


@pytest.mark.asyncio
async def test_create_booking_turns_global_ids_into_keys_and_passes_the_new_customer_and_point(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = fake(monkeypatch, booking_create_writes, "create_booking", WriteResult("booking", demo.booking))
    await run(
        schema,
        context,
        CREATE_BOOKING,
        {
            "input": {
                "idempotencyKey": "key-1",
                "startAt": "2030-03-04T11:00:00+01:00",
                "category": "hair",
                "newCustomer": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"},
                "originatingLocationId": f"Location:{demo.location}",
                "resourceId": f"Resource:{demo.resource}",
                "near": {"latitude": 53.48, "longitude": -2.24},
                "currency": "GBP",
                "notes": "window seat",
            }
        },
    )
    assert write.calls == [
        {
            "args": (
                CreateBooking(
                    idempotency_key="key-1",
                    start_at=datetime(2030, 3, 4, 10, 0, tzinfo=UTC),
                    category="hair",
                    originating_location_id=demo.location,
                    new_customer=NewCustomer("Ada", "Lovelace", "ada@example.com", None),
                    resource_id=demo.resource,
                    near_latitude=53.48,
                    near_longitude=-2.24,
                    max_distance_km=50.0,
                    currency="GBP",
                    notes="window seat",
                ),
            )
        }
    ]


@pytest.mark.asyncio
async def test_create_booking_answers_with_the_booking_and_each_location_outcome(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = WriteResult("booking", demo.booking, (delivered(demo.booking_location, "obm_1"),))
    fake(monkeypatch, booking_create_writes, "create_booking", answer)
    data = await run(schema, context, CREATE_BOOKING, {"input": create_input(demo)})
    assert data["createBooking"] == {
        "booking": {"id": f"Booking:{demo.booking}", "networkId": demo.booking, "status": "CONFIRMED"},
        "outcomes": [
            {
                "locationId": f"Location:{demo.booking_location}",
                "location": {"networkId": demo.booking_location},
                "status": "DELIVERED",
                "code": None,
                "reason": None,
                "outboxMessageId": "OutboxMessage:obm_1",
            }
        ],
        "errors": [],
    }


@pytest.mark.asyncio
async def test_an_expected_failure_is_a_payload_error_with_code_and_field_not_a_graphql_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusal = InvalidInputError("`maxDistanceKm` must be greater than zero", field="maxDistanceKm")
    fake(monkeypatch, booking_create_writes, "create_booking", refusal)
    data = await run(schema, context, CREATE_BOOKING, {"input": create_input(demo, maxDistanceKm=0)})
    assert data["createBooking"] == {
        "booking": None,
        "outcomes": [],
        "errors": [
            {"code": "INVALID_INPUT", "message": "`maxDistanceKm` must be greater than zero", "field": "maxDistanceKm"}
        ],
    }


@pytest.mark.asyncio
async def test_an_error_without_a_field_has_a_null_field(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(monkeypatch, booking_create_writes, "create_booking", SlotUnavailableError("Leeds is closed then"))
    data = await run(schema, context, CREATE_BOOKING, {"input": create_input(demo)})
    assert data["createBooking"]["errors"] == [
        {"code": "SLOT_UNAVAILABLE", "message": "Leeds is closed then", "field": None}
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"serviceId": "svc_1"}, "serviceId"),
        ({"customerId": "Booking:bkg_1"}, "customerId"),
        ({"originatingLocationId": "Customer:cus_1"}, "originatingLocationId"),
    ],
)
async def test_a_malformed_or_mistyped_id_is_invalid_id_on_its_field_and_nothing_is_written(
    schema: strawberry.Schema,
    context: Context,
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, str],
    field: str,
) -> None:
    write = fake(monkeypatch, booking_create_writes, "create_booking", WriteResult("booking", demo.booking))
    data = await run(schema, context, CREATE_BOOKING, {"input": create_input(demo, **changes)})
    [error] = data["createBooking"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_ID", field)
    assert data["createBooking"]["booking"] is None
    assert write.calls == []


@pytest.mark.asyncio
async def test_a_start_time_without_an_offset_is_invalid_input_and_nothing_is_written(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = fake(monkeypatch, booking_create_writes, "create_booking", WriteResult("booking", demo.booking))
    data = await run(schema, context, CREATE_BOOKING, {"input": create_input(demo, startAt="2030-03-04T10:00:00")})
    [error] = data["createBooking"]["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "startAt")
    assert write.calls == []


@pytest.mark.asyncio
async def test_a_location_refusing_the_booking_is_a_failed_outcome_and_an_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = DeliveryOutcome(
        demo.booking_location, "obm_9", DeliveryStatus.FAILED, "SLOT_UNAVAILABLE", "Sam is booked then"
    )
    # The claim was removed from the cache when the location refused: the id names no booking any more.
    fake(monkeypatch, booking_create_writes, "create_booking", WriteResult("booking", "bkg_gone", (refused,)))
    data = await run(schema, context, CREATE_BOOKING, {"input": create_input(demo)})
    payload = data["createBooking"]
    assert payload["booking"] is None
    assert [(o["status"], o["code"], o["reason"]) for o in payload["outcomes"]] == [
        ("FAILED", "SLOT_UNAVAILABLE", "Sam is booked then")
    ]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("SLOT_UNAVAILABLE", None)]
    assert "Sam is booked then" in payload["errors"][0]["message"]


RESCHEDULE = f"""
mutation($input: RescheduleBookingInput!) {{
  rescheduleBooking(input: $input) {{ booking {{ networkId }} {OUTCOMES} {ERRORS} }}
}}
"""


@pytest.mark.asyncio
async def test_a_write_queued_for_an_unreachable_location_is_an_outcome_not_an_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = DeliveryOutcome(
        demo.booking_location, "obm_2", DeliveryStatus.QUEUED, "LOCATION_UNAVAILABLE", "connection refused"
    )
    fake(monkeypatch, booking_writes, "reschedule_booking", WriteResult("booking", demo.booking, (queued,)))
    variables = {"input": {"idempotencyKey": "k", "bookingId": f"Booking:{demo.booking}", "startAt": START}}
    payload = (await run(schema, context, RESCHEDULE, variables))["rescheduleBooking"]
    assert payload["booking"] == {"networkId": demo.booking}
    assert [(o["status"], o["code"]) for o in payload["outcomes"]] == [("QUEUED", "LOCATION_UNAVAILABLE")]
    assert payload["errors"] == []


@pytest.mark.asyncio
async def test_a_dead_lettered_outcome_is_a_location_unavailable_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = DeliveryOutcome(demo.booking_location, "obm_3", DeliveryStatus.FAILED, "DEAD_LETTERED", "timed out")
    fake(monkeypatch, booking_writes, "reschedule_booking", WriteResult("booking", demo.booking, (dead,)))
    variables = {"input": {"idempotencyKey": "k", "bookingId": f"Booking:{demo.booking}", "startAt": START}}
    payload = (await run(schema, context, RESCHEDULE, variables))["rescheduleBooking"]
    assert [e["code"] for e in payload["errors"]] == ["LOCATION_UNAVAILABLE"]


@pytest.mark.asyncio
async def test_the_booking_in_a_payload_is_read_after_the_write_not_from_earlier_in_the_request(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(monkeypatch, booking_writes, "reschedule_booking", WriteResult("booking", demo.booking))

    async def cancel_in_cache(context: Context) -> None:
        async with context.engine.begin() as connection:
            await connection.execute(update(Booking).where(Booking.id == demo.booking).values(status="cancelled"))

    cancel = fake(monkeypatch, booking_writes, "cancel_booking", WriteResult("booking", demo.booking))
    cancel.before_answer = cancel_in_cache
    document = """
    mutation($id: ID!, $start: DateTime!) {
      first: rescheduleBooking(input: {idempotencyKey: "a", bookingId: $id, startAt: $start}) { booking { status } }
      second: cancelBooking(input: {idempotencyKey: "b", bookingId: $id, reason: "ill"}) { booking { status } }
    }
    """
    data = await run(schema, context, document, {"id": f"Booking:{demo.booking}", "start": START})
    assert data == {"first": {"booking": {"status": "CONFIRMED"}}, "second": {"booking": {"status": "CANCELLED"}}}
    assert cancel.calls == [{"args": (), "booking_id": demo.booking, "reason": "ill", "key": "b"}]


UPDATE_CUSTOMER = f"""
mutation($input: UpdateCustomerInput!) {{
  updateCustomer(input: $input) {{ customer {{ networkId }} {OUTCOMES} {ERRORS} }}
}}
"""


@pytest.mark.asyncio
async def test_a_customer_update_refused_by_one_location_is_reported_by_that_outcome_alone(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes = (
        delivered(demo.location, "obm_a"),
        DeliveryOutcome(demo.other_location, "obm_b", DeliveryStatus.FAILED, "INVALID_INPUT", "phone rejected"),
    )
    write = fake(monkeypatch, customer_writes, "update_customer", WriteResult("customer", demo.customer, outcomes))
    variables = {
        "input": {
            "idempotencyKey": "k",
            "customerId": f"Customer:{demo.customer}",
            "phone": "+441234",
            "preferences": {"staff": "Sam"},
        }
    }
    payload = (await run(schema, context, UPDATE_CUSTOMER, variables))["updateCustomer"]
    assert payload["customer"] == {"networkId": demo.customer}
    assert [(o["location"]["networkId"], o["status"]) for o in payload["outcomes"]] == [
        (demo.location, "DELIVERED"),
        (demo.other_location, "FAILED"),
    ]
    assert payload["errors"] == []
    assert write.calls == [
        {
            "args": (),
            "customer_id": demo.customer,
            "changes": CustomerChanges(phone="+441234", preferences={"staff": "Sam"}),
            "key": "k",
        }
    ]


@pytest.mark.asyncio
async def test_customer_preferences_that_are_not_an_object_are_invalid_input(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = fake(monkeypatch, customer_writes, "update_customer", WriteResult("customer", demo.customer))
    variables = {"input": {"idempotencyKey": "k", "customerId": f"Customer:{demo.customer}", "preferences": [1]}}
    payload = (await run(schema, context, UPDATE_CUSTOMER, variables))["updateCustomer"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", "preferences")]
    assert write.calls == []


@pytest.mark.asyncio
async def test_merging_customers_answers_with_the_kept_customer_and_the_removed_id(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = WriteResult("customer", demo.customer, (), {"mergedCustomerId": demo.other_customer})
    write = fake(monkeypatch, customer_writes, "merge_customers", answer)
    document = f"""
    mutation($input: MergeCustomersInput!) {{
      mergeCustomers(input: $input) {{ customer {{ networkId }} removedCustomerId {ERRORS} }}
    }}
    """
    variables = {
        "input": {
            "idempotencyKey": "k",
            "keepCustomerId": f"Customer:{demo.customer}",
            "removeCustomerId": f"Customer:{demo.other_customer}",
        }
    }
    payload = (await run(schema, context, document, variables))["mergeCustomers"]
    assert payload == {
        "customer": {"networkId": demo.customer},
        "removedCustomerId": f"Customer:{demo.other_customer}",
        "errors": [],
    }
    assert write.calls == [
        {"args": (), "keep_customer_id": demo.customer, "remove_customer_id": demo.other_customer, "key": "k"}
    ]


@pytest.mark.asyncio
async def test_transferring_a_booking_answers_with_the_new_and_the_original_booking(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = WriteResult(
        "booking",
        demo.other_booking,
        (delivered(demo.other_location, "obm_new"), delivered(demo.booking_location, "obm_cancel")),
        {"cancelledBookingId": demo.booking},
    )
    write = fake(monkeypatch, transfer_writes, "transfer_booking", answer)
    document = f"""
    mutation($input: TransferBookingInput!) {{
      transferBooking(input: $input) {{
        booking {{ networkId }} originalBooking {{ networkId }} {OUTCOMES} {ERRORS}
      }}
    }}
    """
    variables = {
        "input": {
            "idempotencyKey": "k",
            "bookingId": f"Booking:{demo.booking}",
            "toLocationId": f"Location:{demo.other_location}",
        }
    }
    payload = (await run(schema, context, document, variables))["transferBooking"]
    assert payload["booking"] == {"networkId": demo.other_booking}
    assert payload["originalBooking"] == {"networkId": demo.booking}
    assert [o["outboxMessageId"] for o in payload["outcomes"]] == ["OutboxMessage:obm_new", "OutboxMessage:obm_cancel"]
    assert write.calls == [
        {
            "args": (),
            "booking_id": demo.booking,
            "to_location_id": demo.other_location,
            "start_at": None,
            "approved": False,
            "key": "k",
        }
    ]


@pytest.mark.asyncio
async def test_a_transfer_the_target_refused_has_no_new_booking_and_an_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = DeliveryOutcome(demo.other_location, "obm_x", DeliveryStatus.FAILED, "SLOT_UNAVAILABLE", "taken")
    answer = WriteResult("booking", None, (refused,), {"cancelledBookingId": ""})
    fake(monkeypatch, transfer_writes, "transfer_booking", answer)
    document = f"""
    mutation($input: TransferBookingInput!) {{
      transferBooking(input: $input) {{ booking {{ networkId }} originalBooking {{ status }} {ERRORS} }}
    }}
    """
    variables = {
        "input": {
            "idempotencyKey": "k",
            "bookingId": f"Booking:{demo.booking}",
            "toLocationId": f"Location:{demo.other_location}",
            "startAt": START,
            "approved": True,
        }
    }
    payload = (await run(schema, context, document, variables))["transferBooking"]
    assert payload["booking"] is None
    assert payload["originalBooking"] == {"status": "CONFIRMED"}
    assert [e["code"] for e in payload["errors"]] == ["SLOT_UNAVAILABLE"]


SHARE = f"""
mutation($input: ShareResourceInput!) {{
  shareResource(input: $input) {{ resource {{ networkId }} {OUTCOMES} {ERRORS} }}
}}
"""


@pytest.mark.asyncio
async def test_sharing_a_resource_passes_the_rules_object_and_answers_with_the_resource(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = WriteResult("resource", demo.resource, (delivered(demo.location),))
    write = fake(monkeypatch, resource_writes, "share_resource", answer)
    rules = {"weekdays": [1, 2], "from": "09:00", "until": "13:00", "max_hours_per_week": 8}
    variables = {
        "input": {
            "idempotencyKey": "k",
            "resourceId": f"Resource:{demo.resource}",
            "withLocationId": f"Location:{demo.other_location}",
            "rules": rules,
        }
    }
    payload = (await run(schema, context, SHARE, variables))["shareResource"]
    assert payload["resource"] == {"networkId": demo.resource}
    assert payload["errors"] == []
    assert write.calls == [
        {"args": (), "resource_id": demo.resource, "with_location_id": demo.other_location, "rules": rules, "key": "k"}
    ]


@pytest.mark.asyncio
async def test_sharing_rules_that_are_not_an_object_are_invalid_input(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = fake(monkeypatch, resource_writes, "share_resource", WriteResult("resource", demo.resource))
    variables = {
        "input": {
            "idempotencyKey": "k",
            "resourceId": f"Resource:{demo.resource}",
            "withLocationId": f"Location:{demo.other_location}",
            "rules": "weekdays",
        }
    }
    payload = (await run(schema, context, SHARE, variables))["shareResource"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", "rules")]
    assert payload["resource"] is None
    assert write.calls == []


@pytest.mark.asyncio
async def test_unsharing_a_resource_passes_both_keys(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = fake(monkeypatch, resource_writes, "unshare_resource", WriteResult("resource", demo.resource))
    document = f"""
    mutation($input: UnshareResourceInput!) {{ unshareResource(input: $input) {{ resource {{ networkId }} {ERRORS} }} }}
    """
    variables = {
        "input": {
            "idempotencyKey": "k",
            "resourceId": f"Resource:{demo.resource}",
            "withLocationId": f"Location:{demo.other_location}",
        }
    }
    payload = (await run(schema, context, document, variables))["unshareResource"]
    assert payload == {"resource": {"networkId": demo.resource}, "errors": []}
    assert write.calls == [
        {"args": (), "resource_id": demo.resource, "with_location_id": demo.other_location, "key": "k"}
    ]


STOCK_FIELDS = f"item {{ networkId }} stockLevel {{ location {{ networkId }} quantity }} {OUTCOMES} {ERRORS}"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("field", "input_type", "amount", "operation"),
    [
        ("adjustStock", "AdjustStockInput", {"delta": -3, "reason": "sale", "reference": "order 7"}, "adjustStock"),
        ("reserveStock", "ReserveStockInput", {"quantity": 2, "reference": "order 7"}, "reserveStock"),
        ("releaseStock", "ReleaseStockInput", {"quantity": 2, "reference": "order 7"}, "releaseStock"),
    ],
)
async def test_stock_changes_pass_their_operation_and_answer_with_the_level_where_it_changed(
    schema: strawberry.Schema,
    context: Context,
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    field: str,
    input_type: str,
    amount: dict[str, Any],
    operation: str,
) -> None:
    location = demo.item_locations[1]
    answer = WriteResult("stock_level", f"{demo.item}@{location}", (delivered(location),))
    write = fake(monkeypatch, stock_writes, "change_stock", answer)
    document = f"mutation($input: {input_type}!) {{ {field}(input: $input) {{ {STOCK_FIELDS} }} }}"
    variables = {
        "input": {
            "idempotencyKey": "k",
            "itemId": f"StockItem:{demo.item}",
            "locationId": f"Location:{location}",
            **amount,
        }
    }
    payload = (await run(schema, context, document, variables))[field]
    assert payload["item"] == {"networkId": demo.item}
    assert payload["stockLevel"]["location"] == {"networkId": location}
    assert payload["errors"] == []
    [call] = write.calls
    assert call == {
        "args": (),
        "operation": operation,
        "item_id": demo.item,
        "location_id": location,
        "quantity": amount.get("delta", amount.get("quantity")),
        "reason": amount.get("reason", ""),
        "reference": "order 7",
        "key": "k",
    }


@pytest.mark.asyncio
async def test_insufficient_stock_is_a_payload_error_with_no_item_or_level(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(monkeypatch, stock_writes, "change_stock", InsufficientStockError("only 1 free", available=1))
    document = f"mutation($input: ReserveStockInput!) {{ reserveStock(input: $input) {{ {STOCK_FIELDS} }} }}"
    variables = {
        "input": {
            "idempotencyKey": "k",
            "itemId": f"StockItem:{demo.item}",
            "locationId": f"Location:{demo.item_locations[0]}",
            "quantity": 5,
        }
    }
    payload = (await run(schema, context, document, variables))["reserveStock"]
    assert payload == {
        "item": None,
        "stockLevel": None,
        "outcomes": [],
        "errors": [{"code": "INSUFFICIENT_STOCK", "message": "only 1 free", "field": None}],
    }


TRANSFER_STOCK = f"""
mutation($input: TransferStockInput!) {{
  transferStock(input: $input) {{ item {{ networkId }} stockLevels {{ location {{ networkId }} }} {OUTCOMES} {ERRORS} }}
}}
"""


def transfer_stock_input(demo: Demo) -> dict[str, Any]:
    source, target = demo.item_locations
    return {
        "input": {
            "idempotencyKey": "k",
            "itemId": f"StockItem:{demo.item}",
            "fromLocationId": f"Location:{source}",
            "toLocationId": f"Location:{target}",
            "quantity": 4,
        }
    }


@pytest.mark.asyncio
async def test_a_stock_transfer_answers_with_the_giving_then_the_receiving_level(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = demo.item_locations
    answer = WriteResult("stock_transfer", demo.item, (delivered(source, "obm_out"), delivered(target, "obm_in")))
    write = fake(monkeypatch, stock_writes, "transfer_stock", answer)
    payload = (await run(schema, context, TRANSFER_STOCK, transfer_stock_input(demo)))["transferStock"]
    assert payload["item"] == {"networkId": demo.item}
    assert payload["stockLevels"] == [{"location": {"networkId": source}}, {"location": {"networkId": target}}]
    assert payload["errors"] == []
    assert write.calls == [
        {
            "args": (),
            "item_id": demo.item,
            "from_location_id": source,
            "to_location_id": target,
            "quantity": 4,
            "key": "k",
        }
    ]


@pytest.mark.asyncio
async def test_a_stock_transfer_the_source_refused_is_one_error_for_the_cause_not_for_the_withdrawn_side(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = demo.item_locations
    outcomes = (
        DeliveryOutcome(source, "obm_out", DeliveryStatus.FAILED, "INSUFFICIENT_STOCK", "only 2 on the shelf"),
        DeliveryOutcome(target, "obm_in", DeliveryStatus.FAILED, "TRANSFER_WITHDRAWN", "not sent"),
    )
    fake(monkeypatch, stock_writes, "transfer_stock", WriteResult("stock_transfer", demo.item, outcomes))
    payload = (await run(schema, context, TRANSFER_STOCK, transfer_stock_input(demo)))["transferStock"]
    assert [(o["status"], o["code"]) for o in payload["outcomes"]] == [
        ("FAILED", "INSUFFICIENT_STOCK"),
        ("FAILED", "TRANSFER_WITHDRAWN"),
    ]
    assert [e["code"] for e in payload["errors"]] == ["INSUFFICIENT_STOCK"]


@pytest.mark.asyncio
async def test_replaying_an_outbox_message_answers_with_the_message_as_the_cache_has_it(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with context.engine.connect() as connection:
        row = (await connection.execute(select(OutboxMessage).where(OutboxMessage.id == demo.outbox_message))).one()
    outcome = DeliveryOutcome(row.location_id, row.id, DeliveryStatus.DELIVERED)
    write = fake(monkeypatch, outbox_writes, "replay_outbox_message", WriteResult("outbox_message", row.id, (outcome,)))
    document = f"""
    mutation($input: ReplayOutboxMessageInput!) {{
      replayOutboxMessage(input: $input) {{
        outboxMessage {{ id locationId location {{ networkId }} operation status attempts lastError createdAt }}
        {OUTCOMES} {ERRORS}
      }}
    }}
    """
    variables = {"input": {"id": f"OutboxMessage:{row.id}"}}
    payload = (await run(schema, context, document, variables))["replayOutboxMessage"]
    assert payload["outboxMessage"] == {
        "id": f"OutboxMessage:{row.id}",
        "locationId": f"Location:{row.location_id}",
        "location": {"networkId": row.location_id},
        "operation": row.operation,
        "status": row.status,
        "attempts": row.attempts,
        "lastError": row.last_error,
        "createdAt": row.created_at.isoformat(),
    }
    assert payload["errors"] == []
    assert write.calls == [{"args": (row.id,)}]


@pytest.mark.asyncio
async def test_replaying_a_message_that_is_not_dead_lettered_is_a_conflict_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(monkeypatch, outbox_writes, "replay_outbox_message", ConflictError("this one is pending", status="pending"))
    document = f"""
    mutation {{ replayOutboxMessage(input: {{id: "OutboxMessage:{demo.outbox_message}"}}) {{
      outboxMessage {{ id }} {ERRORS} }} }}
    """
    payload = (await run(schema, context, document, {}))["replayOutboxMessage"]
    assert payload == {
        "outboxMessage": None,
        "errors": [{"code": "CONFLICT", "message": "this one is pending", "field": None}],
    }


@pytest.mark.asyncio
async def test_a_write_without_an_idempotency_key_is_a_validation_error_and_nothing_is_written(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = fake(monkeypatch, booking_writes, "cancel_booking", WriteResult("booking", demo.booking))
    document = f'mutation {{ cancelBooking(input: {{bookingId: "Booking:{demo.booking}"}}) {{ {ERRORS} }} }}'
    result = await schema.execute(document, context_value=context)
    assert result.data is None
    assert result.errors is not None
    [error] = result.errors
    assert error.extensions == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert "idempotencyKey" in error.message
    assert write.calls == []


@pytest.mark.asyncio
async def test_a_write_whose_input_variable_lacks_the_idempotency_key_is_a_validation_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write = fake(monkeypatch, booking_writes, "cancel_booking", WriteResult("booking", demo.booking))
    document = f"mutation($input: CancelBookingInput!) {{ cancelBooking(input: $input) {{ {ERRORS} }} }}"
    variables = {"input": {"bookingId": f"Booking:{demo.booking}"}}
    result = await schema.execute(document, variable_values=variables, context_value=context)
    assert result.data is None
    assert write.calls == []
    assert result.errors is not None
    assert [error.extensions for error in result.errors] == [{"code": "GRAPHQL_VALIDATION_FAILED"}]


def test_every_write_input_requires_an_idempotency_key(schema: strawberry.Schema) -> None:
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    required = {}
    for name, graphql_field in mutation_type.fields.items():
        input_type = graphql_field.args["input"].type.of_type
        key = input_type.fields.get("idempotencyKey")
        required[name] = None if key is None else str(key.type)
    # Replays and sync operations are safe to repeat by their nature: they take no key. Registering a location
    # and rotating its credentials answer a new API key once: replaying that answer would mean storing the key.
    keyless = {
        "replayOutboxMessage",
        "triggerSync",
        "resolveConflict",
        "rollbackSyncJob",
        "registerLocation",
        "rotateLocationCredentials",
    }
    assert required == {name: "String!" for name in required if name not in keyless} | dict.fromkeys(keyless)
    assert len(required) == 22


@pytest.mark.asyncio
async def test_an_unexpected_exception_is_a_masked_top_level_error_not_a_payload_error(
    schema: strawberry.Schema, context: Context, demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake(monkeypatch, booking_create_writes, "create_booking", RuntimeError("db password hunter2"))
    result = await schema.execute(CREATE_BOOKING, variable_values={"input": create_input(demo)}, context_value=context)
    assert result.data is None
    assert result.errors is not None
    [error] = result.errors
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-mutations"}
    assert "hunter2" not in error.message


def test_mutation_error_codes_mirror_the_gateway_error_codes() -> None:
    assert [code.name for code in MutationErrorCode] == [code.name for code in ErrorCode]
