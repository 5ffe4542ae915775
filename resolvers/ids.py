"""Relay global ids: "<Type>:<network-wide key>", readable yet opaque to clients by contract."""

from __future__ import annotations

from collections.abc import Mapping

from resolvers import bounds
from resolvers.errors import InvalidIdError

SEPARATOR = ":"

# What a key of each type looks like, for the hint of an INVALID_ID: the prefixes the gateway and the demo
# give new rows (a location's key is its slug from the network file).
KEY_SHAPES: Mapping[str, str] = {
    "Booking": "bkg_…",
    "Customer": "cus_…",
    "Location": "manchester-central",
    "Resource": "res_…",
    "Service": "svc_…",
    "StockItem": "itm_…",
    "SyncJob": "job_…",
    "Conflict": "cfl_…",
    "OutboxMessage": "obx_…",
}


def to_global_id(type_name: str, key: str) -> str:
    return f"{type_name}{SEPARATOR}{key}"


def example_id(type_name: str) -> str:
    """A global id of type_name as the gateway makes them, e.g. 'Customer:cus_…'."""
    return to_global_id(type_name, KEY_SHAPES.get(type_name, "…"))


def from_global_id(global_id: str, field: str = "id", expected_type: str | None = None) -> tuple[str, str]:
    """`expected_type`: what the field takes, so a malformed id is told what one looks like (any type: a
    Booking's)."""
    # Bounded before it is parsed or shown: a megabyte of id is not echoed back, a NUL never reaches a query.
    bounds.global_id(field, global_id)
    type_name, separator, key = global_id.partition(SEPARATOR)
    if not separator or not type_name or not key:
        example = example_id(expected_type or "Booking")
        raise InvalidIdError(f"{global_id!r} is not a gateway id; ids look like {example!r}", id=global_id, field=field)
    bounds.key(field, key)
    return type_name, key


def key_of(global_id: str, expected_type: str, field: str = "id") -> str:
    """The network-wide key inside a global id that must name an entity of expected_type."""
    type_name, key = from_global_id(global_id, field, expected_type)
    if type_name != expected_type:
        raise InvalidIdError(
            f"{global_id!r} is a {type_name} id where a {expected_type} id ({example_id(expected_type)!r}) is expected",
            id=global_id,
            field=field,
        )
    return key


def keys_of(global_ids: list[str] | None, expected_type: str, field: str = "id") -> list[str] | None:
    if global_ids is None:
        return None
    return [key_of(global_id, expected_type, field) for global_id in global_ids]
