"""The role matrix: every root field, mutation and subscription, asked by every role, over real HTTP and WebSocket.

The fields come from introspection; who may use each comes from EXPECTED below, written by hand from the
roles' descriptions (specs/bookingx-network.md §2), not computed from resolvers/permissions.py: a change to the
grants, or a root field added without an entry here, fails this module. Refused calls must be refused with
exactly FORBIDDEN (UNAUTHENTICATED for the anonymous caller) and, for mutations, change nothing in the cache
although their inputs would write; allowed calls must get past the permission check. The row-level checks
at the end are what the roles' users care about: what each sees of the network's rows.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

import pytest
from clock import session_instant
from live_helpers import free_slot
from sqlalchemy import ColumnElement, Select, func, select
from ws_helpers import TRANSPORT_WS, GraphQLSocket, OperationError

from conftest import RunningGateway
from identity.principal import Role
from resolvers.ids import to_global_id
from schema import build_schema
from schema.permissions import RequiresPermission
from sources.cache.models import (
    AuditEntry,
    Booking,
    Conflict,
    ConsentRecord,
    Customer,
    CustomerMapping,
    CustomerSuppression,
    DataSubjectRequest,
    IdempotencyRecord,
    Location,
    LocationCredential,
    OutboxMessage,
    Resource,
    ResourceShare,
    RevenueEntry,
    Service,
    StockLevel,
    StockMovement,
    SyncJob,
)

A = "manchester-central"  # the location of every location-bound token below
B = "leeds-headingley"  # another location

ADMIN = Role.NETWORK_ADMIN
HUB = Role.HUB_ADMINISTRATOR
MANAGER = Role.LOCATION_MANAGER
FRANCHISEE = Role.FRANCHISEE
STAFF = Role.SHARED_STAFF
CUSTOMER = Role.CUSTOMER
ANONYMOUS = Role.ANONYMOUS
CALLERS = (ADMIN, HUB, MANAGER, FRANCHISEE, STAFF, CUSTOMER, ANONYMOUS)

EVERYONE = frozenset({ADMIN, HUB, MANAGER, FRANCHISEE, STAFF, CUSTOMER})  # every token; never the anonymous
NETWORK = frozenset({ADMIN, HUB})
OPERATIONS = NETWORK | {MANAGER}  # the network's and one location's operations: sync, sharing, transfers
LOCATION_STAFF = OPERATIONS | {FRANCHISEE}  # a location's own data and writes
CUSTOMERS_TOO = LOCATION_STAFF | {CUSTOMER}

# Root field → the roles that may use it. Every root field must be here.
EXPECTED: dict[str, frozenset[Role]] = {
    # Query: the catalogue is everyone's; bookings are too (each sees their own rows).
    "node": EVERYONE,
    "nodes": EVERYONE,
    "location": EVERYONE,
    "locations": EVERYONE,
    "networkHealth": EVERYONE,
    "services": EVERYONE,
    "resources": EVERYONE,
    "availability": EVERYONE,
    "bookings": EVERYONE,
    "booking": EVERYONE,
    "customers": CUSTOMERS_TOO,  # not shared staff: they see customers only through their bookings
    "customer": CUSTOMERS_TOO,
    "duplicateCustomers": NETWORK,
    "inventory": LOCATION_STAFF,
    "revenue": LOCATION_STAFF,
    "locationStatements": LOCATION_STAFF,  # their own location's: tests/test_statements.py
    "paymentReconciliation": LOCATION_STAFF,  # their own location's (A): the row check is tests/test_payments.py
    "outboxMessages": OPERATIONS,
    "syncJobs": OPERATIONS,
    "syncJob": OPERATIONS,
    "conflicts": OPERATIONS,
    "conflict": OPERATIONS,
    "auditEntries": OPERATIONS,  # a manager sees their location's entries only (tests/test_audit_entries.py)
    # Query, Apollo Federation: the SDL as introspection is (any token), entities as `nodes` (each sees their own rows).
    "_service": EVERYONE,
    "_entities": EVERYONE,
    # Mutation
    "createBooking": CUSTOMERS_TOO,
    "rescheduleBooking": CUSTOMERS_TOO,
    "cancelBooking": CUSTOMERS_TOO,
    "transferBooking": OPERATIONS,
    "updateCustomer": LOCATION_STAFF,
    "mergeCustomers": NETWORK,
    "recordConsent": CUSTOMERS_TOO,  # a customer their own; location staff for customers their locations know
    "withdrawConsent": CUSTOMERS_TOO,
    "exportCustomerData": NETWORK | {CUSTOMER},  # the right of access: the customer's own, or the network's admins
    "eraseCustomer": NETWORK,  # network-wide and irreversible: the network's admins alone
    "shareResource": OPERATIONS,
    "unshareResource": OPERATIONS,
    "adjustStock": LOCATION_STAFF,
    "reserveStock": LOCATION_STAFF,
    "releaseStock": LOCATION_STAFF,
    "transferStock": LOCATION_STAFF,
    "replayOutboxMessage": OPERATIONS,
    "triggerSync": OPERATIONS,
    "resolveConflict": NETWORK,
    "rollbackSyncJob": NETWORK,
    "registerLocation": frozenset({ADMIN}),  # credentials: the network admin's alone
    "rotateLocationCredentials": frozenset({ADMIN}),
    # Subscription
    "syncEvents": OPERATIONS,
    "conflictEvents": OPERATIONS,
    "bookingEvents": EVERYONE,
    "stockEvents": LOCATION_STAFF,
    "locationStatusEvents": EVERYONE,
}

ROOT_FIELDS = """
query RootFields {
  __schema {
    queryType { ...Root }
    mutationType { ...Root }
    subscriptionType { ...Root }
    types { name fields { name } }
  }
}
fragment Root on __Type { name fields { name args { name defaultValue type { ...Ref } } type { ...Ref } } }
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
"""

REFUSAL = {True: "UNAUTHENTICATED", False: "FORBIDDEN"}  # by whether the caller is anonymous
NOT_PAST_THE_CHECK = {"FORBIDDEN", "UNAUTHENTICATED", "INTERNAL_SERVER_ERROR", "GRAPHQL_VALIDATION_FAILED"}
AnySelect = Select[*tuple[Any, ...]]
FAR = 10**7  # a maxAge that never refreshes: counts compared across callers read the same cache


# -- what the demo network holds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Demo:
    """Real rows of the demo network (cache keys), to ask for and to try to change."""

    booking_at_a: str
    booking_only_at_b: str  # served at B and booked from B: no business of A's
    customer: str  # a customer with bookings
    other_customer: str
    staff_resource: str  # a resource with bookings served at A
    resource_at_a: str
    share: tuple[str, str]  # (resource, location) of an active share
    service_at_a: str
    stock_item_at_a_and_b: str
    sync_job: str
    conflict: str
    outbox_message: str
    revenue_days: tuple[date, date]

    def gid(self, type_name: str, key: str) -> str:
        return to_global_id(type_name, key)


def _row(gateway: RunningGateway, statement: AnySelect) -> tuple[Any, ...]:
    async def fetch() -> tuple[Any, ...]:
        async with gateway.engine.connect() as connection:
            found = (await connection.execute(statement.limit(1))).first()
        assert found is not None, f"the demo network has no row for {statement}"
        return tuple(found)

    return gateway.run(fetch())


def _key(gateway: RunningGateway, statement: AnySelect) -> str:
    return str(_row(gateway, statement)[0])


def _demo(gateway: RunningGateway) -> Demo:
    most_booked = func.count(Booking.id).desc()
    customer = _key(gateway, select(Booking.customer_id).group_by(Booking.customer_id).order_by(most_booked))
    held_at_b = select(StockLevel.item_id).where(StockLevel.location_id == B)
    first_day, last_day = _row(
        gateway, select(func.min(RevenueEntry.business_date), func.max(RevenueEntry.business_date))
    )
    share_resource, share_location = _row(
        gateway,
        select(ResourceShare.resource_id, ResourceShare.location_id)
        .where(ResourceShare.is_active)
        .order_by(ResourceShare.id),
    )
    return Demo(
        booking_at_a=_key(gateway, select(Booking.id).where(Booking.service_location_id == A).order_by(Booking.id)),
        booking_only_at_b=_key(
            gateway,
            select(Booking.id)
            .where(Booking.service_location_id == B, Booking.originating_location_id == B)
            .order_by(Booking.id),
        ),
        customer=customer,
        other_customer=_key(gateway, select(Customer.id).where(Customer.id != customer).order_by(Customer.id)),
        staff_resource=_key(
            gateway,
            select(Booking.resource_id)
            .where(Booking.service_location_id == A, Booking.resource_id.is_not(None))
            .group_by(Booking.resource_id)
            .order_by(most_booked),
        ),
        resource_at_a=_key(gateway, select(Resource.id).where(Resource.location_id == A).order_by(Resource.id)),
        share=(str(share_resource), str(share_location)),
        service_at_a=_key(
            gateway, select(Service.id).where(Service.location_id == A, Service.is_active).order_by(Service.id)
        ),
        stock_item_at_a_and_b=_key(
            gateway,
            select(StockLevel.item_id)
            .where(StockLevel.location_id == A, StockLevel.item_id.in_(held_at_b), StockLevel.quantity > 2)
            .order_by(StockLevel.item_id),
        ),
        sync_job=_key(gateway, select(SyncJob.id).where(SyncJob.location_id == A).order_by(SyncJob.id)),
        conflict=_key(gateway, select(Conflict.id).where(Conflict.status == "pending").order_by(Conflict.id)),
        outbox_message=_key(gateway, select(OutboxMessage.id).order_by(OutboxMessage.id)),
        revenue_days=(first_day, min(last_day, first_day + timedelta(days=366 * 3))),
    )


@dataclass(frozen=True)
class Callers:
    """The demo, and a token for every role (None: the anonymous caller), issued once per module and backend."""

    demo: Demo
    tokens: dict[Role, str | None]

    def headers(self, role: Role) -> dict[str, str]:
        token = self.tokens[role]
        return {} if token is None else {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def callers(gateway: RunningGateway) -> Callers:
    demo = _demo(gateway)
    issue = gateway.app.state.authenticator.issue
    claims: dict[Role, dict[str, Any]] = {
        ADMIN: {},
        HUB: {},
        MANAGER: {"locations": [A]},
        FRANCHISEE: {"locations": [A]},
        STAFF: {"locations": [A], "resource_id": demo.staff_resource},
        CUSTOMER: {"customer_id": demo.customer},
    }
    tokens: dict[Role, str | None] = {
        role: gateway.run(issue(role, subject=f"matrix-{role.value}", **extra)) for role, extra in claims.items()
    }
    tokens[ANONYMOUS] = None
    return Callers(demo, tokens)


# -- the schema, by introspection -----------------------------------------------------------------------


@dataclass(frozen=True)
class RootField:
    operation: str  # query, mutation, subscription
    name: str
    args: list[dict[str, Any]]
    type: dict[str, Any]


def _named(ref: dict[str, Any]) -> dict[str, Any]:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref


def _sdl(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return f"{_sdl(ref['ofType'])}!"
    if ref["kind"] == "LIST":
        return f"[{_sdl(ref['ofType'])}]"
    return str(ref["name"])


@dataclass(frozen=True)
class Introspected:
    fields: list[RootField]
    type_fields: dict[str, set[str]]

    def of(self, operation: str) -> list[RootField]:
        return [field for field in self.fields if field.operation == operation]


@pytest.fixture(scope="module")
def introspected(gateway: RunningGateway) -> Introspected:
    answer = gateway.graphql(ROOT_FIELDS)
    assert "errors" not in answer, answer
    schema = answer["data"]["__schema"]
    fields = [
        RootField(operation, field["name"], field["args"], field["type"])
        for operation in ("query", "mutation", "subscription")
        for field in schema[f"{operation}Type"]["fields"]
    ]
    type_fields = {t["name"]: {f["name"] for f in t["fields"] or []} for t in schema["types"]}
    return Introspected(fields, type_fields)


def _selection(field: RootField, introspected: Introspected) -> str:
    """The least that makes the field a valid selection: a connection's totalCount, a payload's errors, or
    any object's __typename."""
    named = _named(field.type)
    if named["kind"] not in ("OBJECT", "INTERFACE", "UNION"):
        return ""
    own = introspected.type_fields.get(named["name"], set())
    if "totalCount" in own:
        return "{ totalCount }"
    if "errors" in own and field.operation == "mutation":
        return "{ errors { code message } }"
    return "{ __typename }"


def _document(field: RootField, arguments: dict[str, Any], introspected: Introspected) -> str:
    types = {arg["name"]: _sdl(arg["type"]) for arg in field.args}
    unknown = set(arguments) - set(types)
    assert not unknown, f"{field.name} has no argument {sorted(unknown)}"
    declared = ", ".join(f"${name}: {types[name]}" for name in arguments)
    passed = ", ".join(f"{name}: ${name}" for name in arguments)
    head = f"{field.operation} Matrix({declared})" if declared else field.operation
    call = f"{field.name}({passed})" if passed else field.name
    return f"{head} {{ {call} {_selection(field, introspected)} }}"


def _required(field: RootField) -> set[str]:
    return {arg["name"] for arg in field.args if arg["type"]["kind"] == "NON_NULL" and arg["defaultValue"] is None}


# -- arguments ------------------------------------------------------------------------------------------


def _future(days: int, hour: int = 10) -> str:
    return (session_instant().astimezone(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0).isoformat()


def _fresh_key() -> str:
    return f"matrix-{uuid.uuid4().hex}"


# The id a root field's `id` (or `ids`) argument names, by the field's return type.
SAMPLE_OF_TYPE: dict[str, Callable[[Demo], str]] = {
    "Node": lambda d: d.gid("Location", A),
    "Location": lambda d: d.gid("Location", A),
    "Booking": lambda d: d.gid("Booking", d.booking_at_a),
    "Customer": lambda d: d.gid("Customer", d.customer),
    "SyncJob": lambda d: d.gid("SyncJob", d.sync_job),
    "Conflict": lambda d: d.gid("Conflict", d.conflict),
}

# Required query arguments that are not ids.
QUERY_ARGUMENTS: dict[str, Callable[[Demo], dict[str, Any]]] = {
    "revenue": lambda d: {"from": d.revenue_days[0].isoformat(), "to": d.revenue_days[1].isoformat()},
    "locationStatements": lambda d: {"month": "2026-03", "locationId": d.gid("Location", A)},
    "paymentReconciliation": lambda d: {"locationId": d.gid("Location", A), "from": "2026-01-01", "to": "2026-03-31"},
    "availability": lambda d: {
        "input": {"category": "matrix-no-such-category", "from": _future(3, 9), "to": _future(3, 17)}
    },
    "_entities": lambda d: {"representations": [{"__typename": "Location", "id": d.gid("Location", A)}]},
}

NOWHERE = "matrix-nope"
NEW_LOCATION: dict[str, Any] = {
    "networkId": "matrix-new-site",
    "name": "Matrix New Site",
    "kind": "BOOKINGX",
    "baseUrl": "http://127.0.0.1:9/",
    "timezone": "Europe/London",
    "currency": "GBP",
    "town": "York",
    "latitude": 53.96,
    "longitude": -1.08,
    "credentials": {"apiKey": "matrix-key", "apiSecret": "matrix-secret"},
}

# Mutation inputs that would fail harmlessly (an unknown id, nothing to change): what allowed roles send.
HARMLESS_INPUTS: dict[str, Callable[[Demo], dict[str, Any]]] = {
    "createBooking": lambda d: {
        "idempotencyKey": _fresh_key(),
        "startAt": _future(40),
        "serviceId": f"Service:{NOWHERE}",
        "customerId": d.gid("Customer", d.customer),  # the customer caller is this customer
    },
    "rescheduleBooking": lambda d: {
        "idempotencyKey": _fresh_key(),
        "bookingId": f"Booking:{NOWHERE}",
        "startAt": _future(40),
    },
    "cancelBooking": lambda d: {"idempotencyKey": _fresh_key(), "bookingId": f"Booking:{NOWHERE}"},
    "transferBooking": lambda d: {
        "idempotencyKey": _fresh_key(),
        "bookingId": f"Booking:{NOWHERE}",
        "toLocationId": d.gid("Location", A),
    },
    "updateCustomer": lambda d: {"idempotencyKey": _fresh_key(), "customerId": f"Customer:{NOWHERE}"},
    "mergeCustomers": lambda d: {
        "idempotencyKey": _fresh_key(),
        "keepCustomerId": f"Customer:{NOWHERE}",
        "removeCustomerId": f"Customer:{NOWHERE}-2",
    },
    "recordConsent": lambda d: {
        "idempotencyKey": _fresh_key(),
        "customerId": f"Customer:{NOWHERE}",
        "purpose": "MARKETING",
        "channel": "WEBSITE",
    },
    "withdrawConsent": lambda d: {
        "idempotencyKey": _fresh_key(),
        "customerId": f"Customer:{NOWHERE}",
        "purpose": "MARKETING",
        "channel": "WEBSITE",
    },
    "exportCustomerData": lambda d: {"idempotencyKey": _fresh_key(), "customerId": f"Customer:{NOWHERE}"},
    "eraseCustomer": lambda d: {"idempotencyKey": _fresh_key(), "customerId": f"Customer:{NOWHERE}"},
    "shareResource": lambda d: {
        "idempotencyKey": _fresh_key(),
        "resourceId": f"Resource:{NOWHERE}",
        "withLocationId": d.gid("Location", A),
        "rules": {},
    },
    "unshareResource": lambda d: {
        "idempotencyKey": _fresh_key(),
        "resourceId": f"Resource:{NOWHERE}",
        "withLocationId": d.gid("Location", A),
    },
    "adjustStock": lambda d: {
        "idempotencyKey": _fresh_key(),
        "itemId": f"StockItem:{NOWHERE}",
        "locationId": d.gid("Location", A),
        "delta": 1,
        "reason": "adjustment",
    },
    "reserveStock": lambda d: {
        "idempotencyKey": _fresh_key(),
        "itemId": f"StockItem:{NOWHERE}",
        "locationId": d.gid("Location", A),
        "quantity": 1,
    },
    "releaseStock": lambda d: {
        "idempotencyKey": _fresh_key(),
        "itemId": f"StockItem:{NOWHERE}",
        "locationId": d.gid("Location", A),
        "quantity": 1,
    },
    "transferStock": lambda d: {
        "idempotencyKey": _fresh_key(),
        "itemId": f"StockItem:{NOWHERE}",
        "fromLocationId": d.gid("Location", A),
        "toLocationId": d.gid("Location", B),
        "quantity": 1,
    },
    "replayOutboxMessage": lambda d: {"id": f"OutboxMessage:{NOWHERE}"},
    "triggerSync": lambda d: {"locationId": f"Location:{NOWHERE}"},
    "resolveConflict": lambda d: {"id": f"Conflict:{NOWHERE}", "choice": "SOURCE"},
    "rollbackSyncJob": lambda d: {"id": f"SyncJob:{NOWHERE}"},
    "registerLocation": lambda d: {**NEW_LOCATION, "networkId": A},  # taken: CONFLICT
    "rotateLocationCredentials": lambda d: {"locationId": f"Location:{NOWHERE}"},
}


def _writing_inputs(gateway: RunningGateway, demo: Demo) -> dict[str, dict[str, Any]]:
    """Mutation inputs that name real rows and would change them: what refused roles send."""
    slot = free_slot(gateway, A)
    at_a, at_b = demo.gid("Location", A), demo.gid("Location", B)
    item = demo.gid("StockItem", demo.stock_item_at_a_and_b)
    return {
        "createBooking": {
            "idempotencyKey": _fresh_key(),
            "startAt": slot.start_at.isoformat(),
            "serviceId": demo.gid("Service", slot.service_id),
            "resourceId": demo.gid("Resource", slot.resource_id),
            "customerId": demo.gid("Customer", demo.customer),
        },
        "rescheduleBooking": {
            "idempotencyKey": _fresh_key(),
            "bookingId": demo.gid("Booking", demo.booking_at_a),
            "startAt": slot.start_at.isoformat(),
        },
        "cancelBooking": {"idempotencyKey": _fresh_key(), "bookingId": demo.gid("Booking", demo.booking_at_a)},
        "transferBooking": {
            "idempotencyKey": _fresh_key(),
            "bookingId": demo.gid("Booking", demo.booking_at_a),
            "toLocationId": at_b,
            "approved": True,
        },
        "updateCustomer": {
            "idempotencyKey": _fresh_key(),
            "customerId": demo.gid("Customer", demo.customer),
            "firstName": "Matrix",
        },
        "mergeCustomers": {
            "idempotencyKey": _fresh_key(),
            "keepCustomerId": demo.gid("Customer", demo.customer),
            "removeCustomerId": demo.gid("Customer", demo.other_customer),
        },
        "recordConsent": {
            "idempotencyKey": _fresh_key(),
            "customerId": demo.gid("Customer", demo.customer),
            "purpose": "DATA_SHARING",
            "channel": "IN_PERSON",
        },
        "withdrawConsent": {
            "idempotencyKey": _fresh_key(),
            "customerId": demo.gid("Customer", demo.customer),
            "purpose": "DATA_SHARING",
            "channel": "IN_PERSON",
        },
        "exportCustomerData": {"idempotencyKey": _fresh_key(), "customerId": demo.gid("Customer", demo.customer)},
        "eraseCustomer": {"idempotencyKey": _fresh_key(), "customerId": demo.gid("Customer", demo.customer)},
        "shareResource": {
            "idempotencyKey": _fresh_key(),
            "resourceId": demo.gid("Resource", demo.resource_at_a),
            "withLocationId": at_b,
            "rules": {"weekdays": [1], "from": "09:00", "until": "12:00"},
        },
        "unshareResource": {
            "idempotencyKey": _fresh_key(),
            "resourceId": demo.gid("Resource", demo.share[0]),
            "withLocationId": demo.gid("Location", demo.share[1]),
        },
        "adjustStock": {
            "idempotencyKey": _fresh_key(),
            "itemId": item,
            "locationId": at_a,
            "delta": 1,
            "reason": "adjustment",
        },
        "reserveStock": {"idempotencyKey": _fresh_key(), "itemId": item, "locationId": at_a, "quantity": 1},
        "releaseStock": {"idempotencyKey": _fresh_key(), "itemId": item, "locationId": at_a, "quantity": 1},
        "transferStock": {
            "idempotencyKey": _fresh_key(),
            "itemId": item,
            "fromLocationId": at_a,
            "toLocationId": at_b,
            "quantity": 1,
        },
        "replayOutboxMessage": {"id": demo.gid("OutboxMessage", demo.outbox_message)},
        "triggerSync": {"locationId": at_a},
        "resolveConflict": {"id": demo.gid("Conflict", demo.conflict), "choice": "SOURCE"},
        "rollbackSyncJob": {"id": demo.gid("SyncJob", demo.sync_job)},
        "registerLocation": NEW_LOCATION,
        "rotateLocationCredentials": {"locationId": at_a},
    }


def _rekeyed(given: dict[str, Any]) -> dict[str, Any]:
    """The input again, with an idempotency key of its own where it takes one."""
    return {**given, "idempotencyKey": _fresh_key()} if "idempotencyKey" in given else given


def _query_arguments(field: RootField, demo: Demo) -> dict[str, Any]:
    given = QUERY_ARGUMENTS[field.name](demo) if field.name in QUERY_ARGUMENTS else {}
    returned = _named(field.type)["name"]
    for name in _required(field) - set(given):
        assert name in ("id", "ids") and returned in SAMPLE_OF_TYPE, (
            f"Query.{field.name}({name}:) is required: give the role matrix a value for it in QUERY_ARGUMENTS"
        )
        sample = SAMPLE_OF_TYPE[returned](demo)
        given[name] = sample if name == "id" else [sample]
    return given


# -- answers --------------------------------------------------------------------------------------------


def _codes(answer: dict[str, Any]) -> list[str | None]:
    return [(error.get("extensions") or {}).get("code") for error in answer.get("errors") or []]


def _payload_codes(answer: dict[str, Any]) -> list[str | None]:
    payloads = (answer.get("data") or {}).values()
    return [
        error.get("code") for payload in payloads if isinstance(payload, dict) for error in payload.get("errors", [])
    ]


def _assert_refused(answer: dict[str, Any], role: Role, what: str) -> None:
    expected = REFUSAL[role is ANONYMOUS]
    assert _codes(answer) == [expected], f"{what} as {role.value}: expected exactly {expected}, got {answer}"
    assert not any((answer.get("data") or {}).values()), f"{what} as {role.value} answered data: {answer}"


def _assert_allowed(answer: dict[str, Any], role: Role, what: str) -> None:
    codes = set(_codes(answer)) | set(_payload_codes(answer))
    assert not codes & NOT_PAST_THE_CHECK, f"{what} as {role.value} should be allowed, got {answer}"


# -- the cache, to show a refused write changed nothing --------------------------------------------------

SNAPSHOT: dict[str, AnySelect] = {
    "bookings": select(Booking.id, Booking.status, Booking.start_at, Booking.resource_id, Booking.version),
    "customers": select(
        Customer.id, Customer.first_name, Customer.email, Customer.phone, Customer.version, Customer.consents
    ),
    "customer_mappings": select(CustomerMapping.id, CustomerMapping.customer_id, CustomerMapping.location_id),
    "outbox_messages": select(func.count(OutboxMessage.id)),
    "audit_entries": select(func.count(AuditEntry.id)),
    "consent_records": select(func.count(ConsentRecord.id)),
    "data_subject_requests": select(func.count(DataSubjectRequest.id)),
    "customer_suppressions": select(func.count(CustomerSuppression.customer_id)),
    "stock_levels": select(StockLevel.id, StockLevel.quantity, StockLevel.reserved),
    "stock_movements": select(func.count(StockMovement.id)),
    "resource_shares": select(ResourceShare.id, ResourceShare.is_active, ResourceShare.rules),
    "sync_jobs": select(func.count(SyncJob.id)),
    "conflicts": select(Conflict.id, Conflict.status),
    "idempotency_records": select(func.count(IdempotencyRecord.key)),
    "revenue_entries": select(func.count(RevenueEntry.id), func.sum(RevenueEntry.amount_minor)),
    "locations": select(Location.id, Location.name, Location.base_url, Location.retired_at),
    "location_credentials": select(LocationCredential.id, LocationCredential.api_key_hash),
}


def _snapshot(gateway: RunningGateway) -> dict[str, str]:
    """Per table, a digest of its rows (or of its count, where background work may change a row's state)."""

    async def take() -> dict[str, str]:
        digests = {}
        async with gateway.engine.connect() as connection:
            for table, statement in SNAPSHOT.items():
                first: ColumnElement[Any] = next(iter(statement.selected_columns))
                rows = (await connection.execute(statement.order_by(first))).all()
                text = json.dumps([list(row) for row in rows], default=str, sort_keys=True)
                digests[table] = f"{len(rows)} rows, {hashlib.sha256(text.encode()).hexdigest()[:16]}"
        return digests

    return gateway.run(take())


# -- the table covers the schema --------------------------------------------------------------------------


def test_every_root_field_has_an_entry_in_the_role_matrix(introspected: Introspected) -> None:
    names = [field.name for field in introspected.fields]
    missing = sorted(set(names) - set(EXPECTED))
    assert not missing, (
        f"root fields without an entry in tests/test_role_matrix.py EXPECTED: {missing}; "
        "add each with the set of roles that may use it"
    )
    assert not sorted(set(EXPECTED) - set(names)), (
        f"EXPECTED names fields the schema lacks: {set(EXPECTED) - set(names)}"
    )
    assert len(names) == len(set(names)), "a root field name appears under two operations"


def test_every_root_field_declares_exactly_one_permission() -> None:
    schema = build_schema()
    undeclared = []
    for root in ("Query", "Mutation", "Subscription"):
        definition = schema.get_type_by_name(root)
        assert definition is not None and hasattr(definition, "fields"), root
        for field in definition.fields:
            declared = [p for p in field.permission_classes if issubclass(p, RequiresPermission)]
            if len(declared) != 1:
                undeclared.append(f"{root}.{schema.config.name_converter.from_field(field)}: {declared}")
    assert not undeclared, f"root fields must declare exactly one `requires(Permission.X)`: {undeclared}"


# -- every role and every root field ----------------------------------------------------------------------


@pytest.mark.parametrize("role", CALLERS, ids=lambda role: role.value)
def test_each_query_field_is_refused_or_allowed_for_each_role_as_the_matrix_says(
    gateway: RunningGateway, callers: Callers, introspected: Introspected, role: Role
) -> None:
    for field in introspected.of("query"):
        arguments = _query_arguments(field, callers.demo)
        answer = gateway.graphql(_document(field, arguments, introspected), arguments, headers=callers.headers(role))
        if role in EXPECTED[field.name]:
            _assert_allowed(answer, role, f"Query.{field.name}")
        else:
            _assert_refused(answer, role, f"Query.{field.name}")


def test_every_refused_mutation_is_refused_and_changes_nothing(
    gateway: RunningGateway, callers: Callers, introspected: Introspected
) -> None:
    mutations = introspected.of("mutation")
    writing = _writing_inputs(gateway, callers.demo)
    missing = sorted(
        {field.name for field in mutations} - set(writing) | ({f.name for f in mutations} - set(HARMLESS_INPUTS))
    )
    assert not missing, f"give the role matrix inputs for these mutations (_writing_inputs, HARMLESS_INPUTS): {missing}"
    before = _snapshot(gateway)
    refused = 0
    for role in CALLERS:
        for field in mutations:
            if role in EXPECTED[field.name]:
                continue
            arguments = {"input": _rekeyed(writing[field.name])}
            answer = gateway.graphql(
                _document(field, arguments, introspected), arguments, headers=callers.headers(role)
            )
            _assert_refused(answer, role, f"Mutation.{field.name}")
            refused += 1
    assert refused > 40  # every mutation is refused to somebody; the anonymous caller to all
    assert _snapshot(gateway) == before


@pytest.mark.parametrize("role", sorted(EVERYONE), ids=lambda role: role.value)
def test_each_allowed_mutation_gets_past_the_permission_check(
    gateway: RunningGateway, callers: Callers, introspected: Introspected, role: Role
) -> None:
    for field in introspected.of("mutation"):
        if role not in EXPECTED[field.name]:
            continue
        arguments = {"input": HARMLESS_INPUTS[field.name](callers.demo)}
        answer = gateway.graphql(_document(field, arguments, introspected), arguments, headers=callers.headers(role))
        _assert_allowed(answer, role, f"Mutation.{field.name}")
        assert _payload_codes(answer), f"Mutation.{field.name} as {role.value} should fail harmlessly: {answer}"


@pytest.mark.parametrize("role", CALLERS, ids=lambda role: role.value)
def test_each_subscription_is_refused_or_allowed_for_each_role_as_the_matrix_says(
    gateway: RunningGateway, callers: Callers, introspected: Introspected, role: Role
) -> None:
    subscriptions = introspected.of("subscription")
    with GraphQLSocket(gateway.url, TRANSPORT_WS, token=callers.tokens[role]) as socket:
        started = {field.name: socket.subscribe(_document(field, {}, introspected)) for field in subscriptions}
        socket.sync()  # every subscription has started (and a refused one has been answered)
        for field in subscriptions:
            operation = started[field.name]
            if role in EXPECTED[field.name]:
                try:
                    socket.next(operation, seconds=0.2)  # an event may come; an error must not
                except TimeoutError:
                    pass
                except OperationError as error:
                    raise AssertionError(f"Subscription.{field.name} as {role.value}: {error.errors}") from error
            else:
                with pytest.raises(OperationError) as refused:
                    socket.next(operation)
                expected = REFUSAL[role is ANONYMOUS]
                assert refused.value.codes == [expected], f"Subscription.{field.name} as {role.value}"


# -- rows: what each role sees ----------------------------------------------------------------------------

BOOKINGS = """
query Bookings($filter: BookingFilterInput, $maxAge: Int) {
  bookings(filter: $filter, first: 50, maxAge: $maxAge) {
    totalCount
    nodes { id customer { id } }
  }
}
"""

BOOKING_BY_ID = f"query Booking($id: ID!) {{ booking(id: $id, maxAge: {FAR}) {{ id }} node(id: $id) {{ id }} }}"

CUSTOMER_BY_ID = f"query Customer($id: ID!) {{ customer(id: $id, maxAge: {FAR}) {{ id email }} }}"

STAFF_SCHEDULE = f"""
query Schedule {{
  bookings(first: 20, maxAge: {FAR}) {{ totalCount nodes {{ resource {{ id }} customer {{ firstName email phone }} }} }}
}}
"""

REVENUE = """
query Revenue($from: Date!, $to: Date!, $locations: [ID!]) {
  revenue(from: $from, to: $to, locationIds: $locations) {
    rows { location { id } bookingCount crossLocationBookingCount gross { minorUnits currency } }
    totals { bookingCount gross { minorUnits currency } }
  }
}
"""

NETWORK_HEALTH = """
query Health {
  networkHealth {
    pendingConflicts queueDepth
    locations { location { id } pendingConflicts queueDepth deadLetters }
  }
}
"""


def _data(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def _bookings(gateway: RunningGateway, headers: dict[str, str], **where: Any) -> dict[str, Any]:
    answer = gateway.graphql(BOOKINGS, {"filter": where or None, "maxAge": FAR}, headers=headers)
    bookings: dict[str, Any] = _data(answer)["bookings"]
    return bookings


def _not_found(answer: dict[str, Any], asked: str) -> list[tuple[Any, str]]:
    """(path, message with the id left out) of each error: what tells one unseen id from another."""
    assert answer["data"] and not any(answer["data"].values()), answer
    assert set(_codes(answer)) == {"NOT_FOUND"}, answer
    return [(error["path"], error["message"].replace(asked, "<id>")) for error in answer["errors"]]


def test_a_location_manager_sees_only_their_locations_bookings(gateway: RunningGateway, callers: Callers) -> None:
    admin_at_a = _bookings(gateway, gateway.headers, locationIds=[callers.demo.gid("Location", A)])
    seen = _bookings(gateway, callers.headers(MANAGER))
    everything = _bookings(gateway, gateway.headers)
    assert 0 < seen["totalCount"] == admin_at_a["totalCount"] < everything["totalCount"]
    at = _at_a(gateway, [node["id"].split(":", 1)[1] for node in seen["nodes"]])
    assert seen["nodes"] and all(A in locations for locations in at), at


def _at_a(gateway: RunningGateway, booking_ids: list[str]) -> list[tuple[str, str]]:
    async def fetch() -> list[tuple[str, str]]:
        async with gateway.engine.connect() as connection:
            statement = select(Booking.service_location_id, Booking.originating_location_id)
            rows = await connection.execute(statement.where(Booking.id.in_(booking_ids)))
            return [(str(served), str(booked)) for served, booked in rows.all()]

    return gateway.run(fetch())


CROSS_LOCATION_RELATION = f"""
query Relations {{
  bookings(filter: {{ crossLocationOnly: true }}, first: 50, maxAge: {FAR}) {{ nodes {{ id %s }} }}
}}
"""


@pytest.mark.parametrize(
    "relation",
    [
        "serviceLocation { id }",
        "originatingLocation { id }",
        "service { id }",
        "resource { id }",
        "customer { id firstName }",
    ],
)
def test_a_manager_s_cross_location_booking_resolves_its_other_location_service_and_customer(
    gateway: RunningGateway, callers: Callers, relation: str
) -> None:
    # A booking the manager sees names its other location, its service, resource and customer: they resolve
    # (the catalogue row, and the customer of a booking in scope), while what hangs off them keeps to the scope.
    answer = gateway.graphql(CROSS_LOCATION_RELATION % relation, headers=callers.headers(MANAGER))
    assert _codes(answer) == [], answer
    assert _data(answer)["bookings"]["nodes"]


OTHER_LOCATION_BOOKINGS = f"""
query Relations {{
  bookings(filter: {{ crossLocationOnly: true }}, first: 50, maxAge: {FAR}) {{
    nodes {{
      serviceLocation {{ networkId stock {{ quantity }} services {{ id }} }}
      originatingLocation {{ networkId stock {{ quantity }} }}
    }}
  }}
}}
"""


def test_a_referenced_location_outside_the_scope_resolves_but_what_hangs_off_it_keeps_to_the_scope(
    gateway: RunningGateway, callers: Callers
) -> None:
    answer = gateway.graphql(OTHER_LOCATION_BOOKINGS, headers=callers.headers(MANAGER))
    assert _codes(answer) == [], answer
    others = [
        side
        for node in _data(answer)["bookings"]["nodes"]
        for side in (node["serviceLocation"], node["originatingLocation"])
        if side["networkId"] != A
    ]
    assert others, "the manager's cross-location bookings name no other location"
    # The other location's name resolves; its stock and services are not the manager's to see.
    assert all(side["stock"] == [] for side in others)
    assert all(side.get("services", []) == [] for side in others)


def test_another_locations_booking_is_not_found_for_a_manager_exactly_like_a_made_up_id(
    gateway: RunningGateway, callers: Callers
) -> None:
    elsewhere, made_up = callers.demo.gid("Booking", callers.demo.booking_only_at_b), f"Booking:{NOWHERE}"
    assert _data(gateway.graphql(BOOKING_BY_ID, {"id": elsewhere}))["booking"] == {"id": elsewhere}  # the admin sees it
    manager = callers.headers(MANAGER)
    hidden = _not_found(gateway.graphql(BOOKING_BY_ID, {"id": elsewhere}, headers=manager), elsewhere)
    assert hidden == _not_found(gateway.graphql(BOOKING_BY_ID, {"id": made_up}, headers=manager), made_up)
    own = callers.demo.gid("Booking", callers.demo.booking_at_a)
    assert _data(gateway.graphql(BOOKING_BY_ID, {"id": own}, headers=manager))["booking"] == {"id": own}


def test_a_customer_sees_only_their_own_bookings_and_no_one_else_s_record(
    gateway: RunningGateway, callers: Callers
) -> None:
    demo, customer = callers.demo, callers.headers(CUSTOMER)
    me, someone_else = demo.gid("Customer", demo.customer), demo.gid("Customer", demo.other_customer)
    seen = _bookings(gateway, customer)
    assert 0 < seen["totalCount"] == _bookings(gateway, gateway.headers, customerId=me)["totalCount"]
    assert {node["customer"]["id"] for node in seen["nodes"]} == {me}

    mine = _data(gateway.graphql(CUSTOMER_BY_ID, {"id": me}, headers=customer))["customer"]
    assert mine["id"] == me and mine["email"]  # their own contact data
    assert _data(gateway.graphql(CUSTOMER_BY_ID, {"id": someone_else}))["customer"]["id"] == someone_else
    hidden = _not_found(gateway.graphql(CUSTOMER_BY_ID, {"id": someone_else}, headers=customer), someone_else)
    made_up = f"Customer:{NOWHERE}"
    assert hidden == _not_found(gateway.graphql(CUSTOMER_BY_ID, {"id": made_up}, headers=customer), made_up)


def test_shared_staff_see_their_own_bookings_with_customer_names_but_not_contact_data(
    gateway: RunningGateway, callers: Callers
) -> None:
    demo = callers.demo
    me = demo.gid("Resource", demo.staff_resource)
    answer = gateway.graphql(STAFF_SCHEDULE, headers=callers.headers(STAFF))
    bookings = answer["data"]["bookings"]
    expected = _bookings(gateway, gateway.headers, resourceId=me, locationIds=[demo.gid("Location", A)])
    assert 0 < bookings["totalCount"] == expected["totalCount"]
    assert bookings["nodes"] and {node["resource"]["id"] for node in bookings["nodes"]} == {me}
    assert all(node["customer"]["firstName"] for node in bookings["nodes"])
    assert all(node["customer"]["email"] is None and node["customer"]["phone"] is None for node in bookings["nodes"])
    refused = {tuple(error["path"]) for error in answer["errors"] if error["extensions"]["code"] == "FORBIDDEN"}
    assert set(_codes(answer)) == {"FORBIDDEN"}
    assert refused == {
        ("bookings", "nodes", index, "customer", field)
        for index in range(len(bookings["nodes"]))
        for field in ("email", "phone")
    }


def test_a_franchisee_s_revenue_includes_only_their_location_s_entries(
    gateway: RunningGateway, callers: Callers
) -> None:
    first, last = callers.demo.revenue_days
    period = {"from": first.isoformat(), "to": last.isoformat()}
    theirs = _data(gateway.graphql(REVENUE, period, headers=callers.headers(FRANCHISEE)))["revenue"]
    at_a = _data(gateway.graphql(REVENUE, {**period, "locations": [f"Location:{A}"]}))["revenue"]
    everywhere = _data(gateway.graphql(REVENUE, period))["revenue"]
    assert theirs["rows"] and {row["location"]["id"] for row in theirs["rows"]} == {f"Location:{A}"}
    assert theirs == at_a != everywhere
    elsewhere = gateway.graphql(
        REVENUE, {**period, "locations": [f"Location:{B}"]}, headers=callers.headers(FRANCHISEE)
    )
    assert _data(elsewhere)["revenue"]["rows"] == []


def test_network_health_for_a_manager_counts_only_their_locations(gateway: RunningGateway, callers: Callers) -> None:
    theirs = _data(gateway.graphql(NETWORK_HEALTH, headers=callers.headers(MANAGER)))["networkHealth"]
    everyone = _data(gateway.graphql(NETWORK_HEALTH))["networkHealth"]
    row_of_a = [row for row in everyone["locations"] if row["location"]["id"] == f"Location:{A}"]
    assert theirs["locations"] == row_of_a
    assert len(everyone["locations"]) > 1
    assert theirs["queueDepth"] == row_of_a[0]["queueDepth"] <= everyone["queueDepth"]
    assert theirs["pendingConflicts"] == row_of_a[0]["pendingConflicts"] <= everyone["pendingConflicts"]


# -- writes keep to the caller's rows --------------------------------------------------------------------------

CREATE_BOOKING = """
mutation Create($input: CreateBookingInput!) { createBooking(input: $input) { booking { id } errors { code } } }
"""
ADJUST_STOCK = """
mutation Adjust($input: AdjustStockInput!) { adjustStock(input: $input) { errors { code } } }
"""
UPDATE_CUSTOMER = """
mutation Update($input: UpdateCustomerInput!) { updateCustomer(input: $input) { errors { code } } }
"""


def _payload_error_codes(answer: dict[str, Any], field: str) -> list[str]:
    assert not answer.get("errors"), answer
    return [error["code"] for error in answer["data"][field]["errors"]]


def test_a_customer_books_only_for_themselves_and_a_refusal_changes_nothing(
    gateway: RunningGateway, callers: Callers
) -> None:
    slot = free_slot(gateway, A)
    demo, before = callers.demo, _snapshot(gateway)
    booking = {
        "idempotencyKey": _fresh_key(),
        "startAt": slot.start_at.isoformat(),
        "serviceId": demo.gid("Service", slot.service_id),
        "customerId": demo.gid("Customer", demo.other_customer),
    }
    refused = gateway.graphql(CREATE_BOOKING, {"input": booking}, headers=callers.headers(CUSTOMER))
    assert _payload_error_codes(refused, "createBooking") == ["FORBIDDEN"]
    as_new: dict[str, Any] = {key: value for key, value in booking.items() if key != "customerId"}
    as_new["newCustomer"] = {"firstName": "Someone", "lastName": "Else", "email": "someone.else@example.com"}
    refused = gateway.graphql(CREATE_BOOKING, {"input": as_new}, headers=callers.headers(CUSTOMER))
    assert _payload_error_codes(refused, "createBooking") == ["FORBIDDEN"]
    assert _snapshot(gateway) == before


def test_a_manager_cannot_write_at_another_location_and_a_refusal_changes_nothing(
    gateway: RunningGateway, callers: Callers
) -> None:
    demo, manager, before = callers.demo, callers.headers(MANAGER), _snapshot(gateway)
    slot_at_b = free_slot(gateway, B)
    booking_at_b = {
        "idempotencyKey": _fresh_key(),
        "startAt": slot_at_b.start_at.isoformat(),
        "serviceId": demo.gid("Service", slot_at_b.service_id),
        "customerId": demo.gid("Customer", demo.customer),
    }
    answer = gateway.graphql(CREATE_BOOKING, {"input": booking_at_b}, headers=manager)
    assert _payload_error_codes(answer, "createBooking") in (["FORBIDDEN"], ["NOT_FOUND"])
    stock_at_b = {
        "idempotencyKey": _fresh_key(),
        "itemId": demo.gid("StockItem", demo.stock_item_at_a_and_b),
        "locationId": demo.gid("Location", B),
        "delta": 5,
        "reason": "adjustment",
    }
    answer = gateway.graphql(ADJUST_STOCK, {"input": stock_at_b}, headers=manager)
    assert _payload_error_codes(answer, "adjustStock") == ["FORBIDDEN"]
    cancel_elsewhere = {"idempotencyKey": _fresh_key(), "bookingId": demo.gid("Booking", demo.booking_only_at_b)}
    answer = gateway.graphql(CANCEL_BOOKING, {"input": cancel_elsewhere}, headers=manager)
    assert _payload_error_codes(answer, "cancelBooking") == ["NOT_FOUND"]
    assert _snapshot(gateway) == before


CANCEL_BOOKING = """
mutation Cancel($input: CancelBookingInput!) { cancelBooking(input: $input) { errors { code } } }
"""
