"""The rules that tell a conflict from a sequential change, and which side a strategy keeps (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.apply.state import compare
from sync.conflicts.detect import ConflictPolicy, Side, winner
from sync.types import Strategy

BASE = {"first_name": "Ada", "phone": "1", "email": "ada@example.com"}
EARLY = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_a_change_on_one_side_only_is_not_a_conflict() -> None:
    result = compare(BASE, BASE, {**BASE, "phone": "2"})
    assert result.location_changes == {"phone": "2"} and not result.network_changes and not result.is_conflict


def test_changes_to_different_fields_merge() -> None:
    result = compare(BASE, {**BASE, "email": "new@example.com"}, {**BASE, "phone": "2"})
    assert result.location_changes == {"phone": "2"} and result.network_changes == {"email"} and not result.is_conflict


def test_the_same_field_changed_to_different_values_on_both_sides_is_a_conflict() -> None:
    result = compare(BASE, {**BASE, "phone": "3"}, {**BASE, "phone": "2"})
    assert result.clashes == {"phone"} and result.is_conflict


def test_both_sides_making_the_same_change_is_not_a_conflict() -> None:
    assert not compare(BASE, {**BASE, "phone": "2"}, {**BASE, "phone": "2"}).is_conflict


def test_times_compare_by_instant_not_by_spelling() -> None:
    base = {"start_at": "2026-12-01T09:00:00+00:00"}
    assert not compare(base, base, {"start_at": "2026-12-01T10:00:00+01:00"}).location_changes


def test_newest_keeps_the_side_changed_last_and_ties_keep_the_network() -> None:
    node, hub = Side({}, 2, EARLY + timedelta(minutes=5)), Side({}, 7, EARLY)
    assert winner(Strategy.NEWEST, node, hub) is Strategy.NODE_WINS
    assert winner(Strategy.NEWEST, Side({}, 2, EARLY), hub) is Strategy.HUB_WINS
    assert winner(Strategy.MANUAL, node, hub) is Strategy.MANUAL


def test_strategy_per_entity_type_overrides_the_default() -> None:
    policy = ConflictPolicy(Strategy.HUB_WINS, {"booking": Strategy.MANUAL})
    assert policy.for_entity("booking") is Strategy.MANUAL
    assert policy.for_entity("customer") is Strategy.HUB_WINS
