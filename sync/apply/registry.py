"""The entity types the gateway keeps in step with the locations: one row each, in the order they apply.

The order matters: a page of bookings names customers, services and resources, so those land first. Everything that
works per entity type (the pull engine, the apply pipeline, full reconciliation, conflict
resolution, rollback) finds the entity here, by the pulled `EntityType` or by a `RecordType`.
"""

from __future__ import annotations

from typing import Any

from sources.connectors.records import EntityType
from sync.apply.bookings import Bookings
from sync.apply.customers import Customers
from sync.apply.entity import SyncedEntity
from sync.apply.resources import Resources
from sync.apply.services import Services
from sync.apply.stock import Stock

Entity = SyncedEntity[Any]

ENTITIES: tuple[Entity, ...] = (Customers(), Services(), Resources(), Bookings(), Stock())

_BY_PULLED: dict[EntityType, Entity] = {entity.pulled_as: entity for entity in ENTITIES}
_BY_RECORD: dict[str, Entity] = {record: entity for entity in ENTITIES for record in entity.record_types}


def pulled(kind: EntityType) -> Entity:
    """The entity a delta feed brings (every `EntityType` has one: a test holds the table to that)."""
    return _BY_PULLED[kind]


def owning(record_type: str) -> Entity | None:
    """The entity a change-log entry or a conflict belongs to; None for a record type nothing syncs."""
    return _BY_RECORD.get(record_type)
