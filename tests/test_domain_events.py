"""One function per event topic builds its payload, and each payload names the locations it concerns."""

from __future__ import annotations

import pytest

from resolvers.bookings.vocabulary import BookingChange, BookingStatus
from schema.subscriptions.events import BookingEvent
from sources.cache.models import Booking, Conflict, StockLevel
from subscriptions.bus import Event
from subscriptions.visibility import LOCATION_FIELDS, event_locations
from sync import events
from sync.events import DomainEvent

BOOKING = Booking(id="bkg_1", status="confirmed", service_location_id="leeds", originating_location_id="salford")
LEVEL = StockLevel(item_id="itm_1", location_id="leeds", quantity=4, reserved=1, reorder_point=3)
CONFLICT = Conflict(
    id="cfl_1",
    conflict_type="concurrent_update",
    entity_type="customer",
    entity_id="cus_1",
    source_location_id="leeds",
    target_location_id="salford",
    resolution_strategy="manual",
    status="pending",
)

ONE_OF_EACH: list[DomainEvent] = [
    events.booking_event(BOOKING, BookingChange.CREATED),
    events.stock_event(LEVEL),
    events.customer_event("cus_1", "leeds"),
    events.resource_event("res_1", "leeds"),
    events.conflict_event(CONFLICT, "detected"),
    events.sync_job_event("job_1", "leeds", "started", None, pulled=0, applied=0, conflicts=0, errors=0, error=None),
    events.location_status_event("leeds", "online", "offline"),
]


def test_every_topic_subscribers_are_filtered_on_has_one_builder() -> None:
    assert sorted(topic for topic, _ in ONE_OF_EACH) == sorted(LOCATION_FIELDS)


def test_every_event_names_the_locations_it_concerns() -> None:
    for topic, payload in ONE_OF_EACH:
        assert "leeds" in event_locations(Event(topic, payload)), topic


def test_a_refused_booking_is_published_without_a_status_since_it_never_existed() -> None:
    topic, payload = events.booking_event(BOOKING, BookingChange.REJECTED)
    assert (topic, payload["status"], payload["change"]) == ("booking.changed", None, "rejected")
    assert (payload["serviceLocationId"], payload["originatingLocationId"]) == ("leeds", "salford")


@pytest.mark.parametrize("change", list(BookingChange), ids=lambda change: change.name)
def test_every_booking_change_reaches_subscribers_as_the_enums_booking_status_uses(change: BookingChange) -> None:
    topic, payload = events.booking_event(BOOKING, change)
    event = BookingEvent.of(Event(topic, payload))
    assert event.change is change
    assert event.status is (None if change is BookingChange.REJECTED else BookingStatus.CONFIRMED)


def test_a_merge_and_a_share_say_what_happened_beside_the_record() -> None:
    assert events.customer_event("cus_1", None, merged_customer_id="cus_2")[1] == {
        "customerId": "cus_1",
        "locationId": None,
        "mergedCustomerId": "cus_2",
    }
    assert events.resource_event("res_1", "leeds", shared_with="salford", shared=False)[1] == {
        "resourceId": "res_1",
        "locationId": "leeds",
        "withLocationId": "salford",
        "shared": False,
    }
