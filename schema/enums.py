"""GraphQL enums over the domains' own enums: the members are defined once, in resolvers/ or sources/;
the schema adds only the descriptions the API documents them with."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

import strawberry

E = TypeVar("E", bound=Enum)


def graphql_enum(enum: type[E], description: str, values: Mapping[E, str]) -> type[E]:
    """Make `enum` itself the GraphQL enum (member names are the GraphQL values), every value described."""
    missing = [member.name for member in enum if member not in values]
    if missing:
        raise TypeError(f"{enum.__name__}: no description for {', '.join(missing)}")
    strawberry.enum(enum, description=description)
    definition = getattr(enum, "__strawberry_definition__")  # noqa: B009 - set by strawberry.enum just now
    for value in definition.values:
        value.description = values[enum[value.name]]
    return enum
