"""sync.webhooks: a delivered event is applied once however many copies arrive at once, an older event never
wins over a newer one, and signatures are checked over the exact bytes, in a window, with rotated secrets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sources.cache.database import create_engine
from sources.cache.migrate import upgrade
from sources.cache.models import ChangeLogEntry, WebhookReceipt
from sources.cache.writer import CacheWriter
from sync.webhooks.receipts import Delivery, DuplicateDelivery, Outcome, body_sha256, receive
from sync.webhooks.verify import BODY_HEX, ONEBOOKING, Rejection, SignatureRejected, verify

EARLY = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def engine(own_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(own_database_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(WebhookReceipt))
            await connection.execute(delete(ChangeLogEntry))
        await engine.dispose()


def _delivery(event_id: str, occurred_at: datetime | None = None, entity_id: str = "b-1") -> Delivery:
    return Delivery(
        source="test:site",
        event_id=event_id,
        payload_sha256=body_sha256(event_id.encode()),
        entity_type="booking",
        entity_id=entity_id,
        occurred_at=occurred_at,
    )


@pytest.mark.asyncio
async def test_twenty_concurrent_copies_of_one_event_apply_once(engine: AsyncEngine) -> None:
    writer = CacheWriter(engine)
    effects: list[str] = []

    async def deliver() -> str:
        try:
            async with writer.transaction() as session:
                outcome = await receive(session, _delivery("evt-1", EARLY))
                effects.append("applied")  # the effect, in the same transaction as the receipt
                return outcome.value
        except DuplicateDelivery:
            return "duplicate"

    answers = await asyncio.gather(*(deliver() for _ in range(20)))
    assert sorted(answers) == ["apply"] + ["duplicate"] * 19
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(WebhookReceipt)) == 1


@pytest.mark.asyncio
async def test_an_older_event_is_stale_and_kept_in_the_change_log(engine: AsyncEngine) -> None:
    writer = CacheWriter(engine)
    async with writer.transaction() as session:
        assert await receive(session, _delivery("new", EARLY + timedelta(minutes=5))) is Outcome.APPLY
    async with writer.transaction() as session:
        assert await receive(session, _delivery("old", EARLY), payload={"status": "confirmed"}) is Outcome.STALE
    # Another entity's older event is not compared with this one's.
    async with writer.transaction() as session:
        assert await receive(session, _delivery("other", EARLY, entity_id="b-2")) is Outcome.APPLY
    async with engine.connect() as connection:
        kept = (await connection.execute(select(ChangeLogEntry.operation, ChangeLogEntry.after))).all()
    assert [(operation, after["event_id"], after["payload"]) for operation, after in kept] == [
        ("stale", "old", {"status": "confirmed"})
    ]


@pytest.mark.asyncio
async def test_a_duplicate_leaves_the_session_usable_to_roll_back(engine: AsyncEngine) -> None:
    writer = CacheWriter(engine)
    async with writer.transaction() as session:
        await receive(session, _delivery("evt-2"))
    with pytest.raises(DuplicateDelivery):
        async with writer.transaction() as session:
            await receive(session, _delivery("evt-2"))
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(WebhookReceipt)) == 1


def test_onebooking_signature_is_over_timestamp_dot_body() -> None:
    body = b'{"event":"booking.updated"}'
    now = datetime.fromtimestamp(1_708_444_800, UTC)
    signature = ONEBOOKING.sign("secret", body, "1708444800")
    assert signature.startswith("sha256=")
    verify(ONEBOOKING, ["old", "secret"], body, signature, timestamp="1708444800", now=now)
    with pytest.raises(SignatureRejected) as tampered:
        verify(ONEBOOKING, ["secret"], body + b" ", signature, timestamp="1708444800", now=now)
    assert tampered.value.reason is Rejection.BAD_SIGNATURE
    with pytest.raises(SignatureRejected) as expired:
        verify(ONEBOOKING, ["secret"], body, signature, timestamp="1708444800", now=now + timedelta(seconds=301))
    assert expired.value.reason is Rejection.EXPIRED
    with pytest.raises(SignatureRejected) as unsigned:
        verify(BODY_HEX, ["secret"], body, None)
    assert unsigned.value.reason is Rejection.MISSING_SIGNATURE
