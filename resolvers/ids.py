"""Relay global ids: "<Type>:<network-wide key>", readable yet opaque to clients by contract."""

from __future__ import annotations

from resolvers.errors import InvalidIdError

SEPARATOR = ":"


def to_global_id(type_name: str, key: str) -> str:
    return f"{type_name}{SEPARATOR}{key}"


def from_global_id(global_id: str) -> tuple[str, str]:
    type_name, separator, key = global_id.partition(SEPARATOR)
    if not separator or not type_name or not key:
        raise InvalidIdError(f"{global_id!r} is not a gateway id; ids look like 'Booking:bkg_…'", id=global_id)
    return type_name, key


def key_of(global_id: str, expected_type: str) -> str:
    """The network-wide key inside a global id that must name an entity of expected_type."""
    type_name, key = from_global_id(global_id)
    if type_name != expected_type:
        raise InvalidIdError(f"{global_id!r} is a {type_name} id where a {expected_type} id is expected", id=global_id)
    return key


def keys_of(global_ids: list[str] | None, expected_type: str) -> list[str] | None:
    if global_ids is None:
        return None
    return [key_of(global_id, expected_type) for global_id in global_ids]
