"""Relay global ids: "<Type>:<network-wide key>", readable yet opaque to clients by contract."""

from __future__ import annotations

from resolvers import bounds
from resolvers.errors import InvalidIdError

SEPARATOR = ":"


def to_global_id(type_name: str, key: str) -> str:
    return f"{type_name}{SEPARATOR}{key}"


def from_global_id(global_id: str, field: str = "id") -> tuple[str, str]:
    # Bounded before it is parsed or shown: a megabyte of id is not echoed back, a NUL never reaches a query.
    bounds.global_id(field, global_id)
    type_name, separator, key = global_id.partition(SEPARATOR)
    if not separator or not type_name or not key:
        raise InvalidIdError(
            f"{global_id!r} is not a gateway id; ids look like 'Booking:bkg_…'", id=global_id, field=field
        )
    bounds.key(field, key)
    return type_name, key


def key_of(global_id: str, expected_type: str, field: str = "id") -> str:
    """The network-wide key inside a global id that must name an entity of expected_type."""
    type_name, key = from_global_id(global_id, field)
    if type_name != expected_type:
        raise InvalidIdError(
            f"{global_id!r} is a {type_name} id where a {expected_type} id is expected", id=global_id, field=field
        )
    return key


def keys_of(global_ids: list[str] | None, expected_type: str, field: str = "id") -> list[str] | None:
    if global_ids is None:
        return None
    return [key_of(global_id, expected_type, field) for global_id in global_ids]
