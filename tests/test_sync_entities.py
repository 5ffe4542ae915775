"""The entity table: every entity type the gateway syncs is one entry, and everything per type finds it there."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from settings import Settings
from sources.cache.database import create_engine
from sources.cache.models import ChangeLogEntry, Conflict, Location, SyncJob
from sources.cache.models.base import Base
from sources.cache.writer import CacheWriter
from sources.connectors.records import EntityType, RecordType, RemoteRecord
from sync.apply.batch import ApplyRules
from sync.apply.registry import ENTITIES, owning, pulled
from sync.conflicts.resolve import resolve_conflict
from sync.conflicts.rollback import rollback_job
from sync.errors import InvalidResolution
from sync.pull.engine import SyncOptions
from sync.pull.jobs import COMPLETED
from sync.types import ConflictChoice


def test_every_entity_type_the_pull_engine_pulls_has_an_entry() -> None:
    for kind in EntityType:
        assert pulled(kind).pulled_as is kind
    assert set(SyncOptions().priority) <= {entity.pulled_as for entity in ENTITIES}
    assert set(Settings().sync_priority_order) <= {entity.pulled_as for entity in ENTITIES}
    assert len({entity.pulled_as for entity in ENTITIES}) == len(ENTITIES)


def test_every_record_type_belongs_to_exactly_one_entity() -> None:
    owned = [record for entity in ENTITIES for record in entity.record_types]
    assert sorted(owned) == sorted(RecordType)
    for entity in ENTITIES:
        for record in entity.record_types:
            assert owning(record) is entity
            assert owning(str(record)) is entity  # as the change log and conflicts store it


def test_each_entity_applies_its_own_kind_of_pulled_record() -> None:
    remote_types = [entity.remote_type for entity in ENTITIES]
    assert sorted(t.__name__ for t in remote_types) == sorted(t.__name__ for t in typing.get_args(RemoteRecord))


def test_customers_apply_before_the_bookings_that_name_them() -> None:
    order = [entity.pulled_as for entity in ENTITIES]
    assert order.index(EntityType.CUSTOMERS) < order.index(EntityType.BOOKINGS)


def test_services_and_resources_apply_before_the_bookings_that_name_them() -> None:
    order = [entity.pulled_as for entity in ENTITIES]
    assert order.index(EntityType.SERVICES) < order.index(EntityType.BOOKINGS)
    assert order.index(EntityType.RESOURCES) < order.index(EntityType.BOOKINGS)
    assert owning("service") is pulled(EntityType.SERVICES)


def test_a_record_type_nothing_syncs_has_no_owner() -> None:
    assert owning("invoice") is None
    assert owning("audit") is None


@pytest.mark.asyncio
async def test_a_rollback_skips_entries_and_a_resolution_refuses_conflicts_nothing_syncs(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cache.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        writer = CacheWriter(engine)
        async with writer.transaction() as session:
            session.add(
                Location(
                    id="leeds",
                    name="Leeds",
                    kind="bookingx",
                    base_url="http://127.0.0.1:1",
                    town="Leeds",
                    timezone="Europe/London",
                    currency="GBP",
                    latitude=53.8,
                    longitude=-1.55,
                )
            )
            await session.flush()
            session.add(SyncJob(id="job_1", location_id="leeds", trigger="manual", entity_types=[], status=COMPLETED))
            await session.flush()
            session.add(
                ChangeLogEntry(
                    entity_type="invoice",
                    entity_id="inv_1",
                    location_id="leeds",
                    operation="update",
                    after={},
                    sync_job_id="job_1",
                )
            )
            session.add(
                Conflict(
                    id="cfl_1",
                    conflict_type="concurrent_update",
                    entity_type="invoice",
                    entity_id="inv_1",
                    source_location_id="leeds",
                    source_data={"fields": {"name": "Cut"}},
                    target_data={"fields": {"name": "Trim"}},
                )
            )

        report, result, location_id = await rollback_job(writer, ApplyRules(), "job_1")
        assert (report.restored, report.skipped, location_id) == (0, 1, "leeds")
        assert not result.queued and not result.events

        with pytest.raises(InvalidResolution, match="conflicts on invoice cannot be resolved here"):
            await resolve_conflict(
                writer, ApplyRules(), "cfl_1", choice=ConflictChoice.LOCATION, merged=None, resolved_by="test"
            )
    finally:
        await engine.dispose()
