"""The source website's sync service (the spec's lib/onebooking/sync.ts): push a booking to Central.

POST {gateway}/api/bookings/sync with `X-API-Key`, the spec's body built from the
website's own booking. Amounts: the spec's examples are whole THB; the store keeps
integer minor units, so `package_price`, `total_amount` and `discount_amount` go out
as JSON numbers in major units, with decimals where needed (4550 pence -> 45.5, an
amount in whole units -> 8500). The store keeps no creation time: `created_at` is the
booking's last change, which for a `booking.created` push is its creation.

Failed pushes (connection errors, timeouts, 5xx, 429) are retried after the spec's
delays, 1 s, 5 s, 30 s, 5 min. A 4xx is Central's final answer and is returned at once.
A retry after an answer was lost may meet 409 DUPLICATE_BOOKING: the first attempt landed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC
from decimal import Decimal
from typing import Any

import httpx

from devnet.simulators.store import LocationStore
from devnet.simulators.store_records import StoredBooking

logger = logging.getLogger(__name__)

SYNC_PATH = "/api/bookings/sync"
SYNC_EVENTS = frozenset({"booking.created", "booking.updated", "booking.cancelled", "booking.refunded"})
RETRY_DELAYS_SECONDS: tuple[float, ...] = (1.0, 5.0, 30.0, 300.0)
# ISO 4217 minor-unit exponents that differ from the usual 2 (the website's own table).
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


def major_units(minor: int, currency: str) -> int | float:
    """A JSON number in major units. Money amounts have few digits, so the float's repr is the exact decimal."""
    amount = Decimal(minor).scaleb(-_EXPONENTS.get(currency, 2))
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _booking_ref(website: str, local_id: str) -> str:
    """Like the spec's "HW-000023": the website's initials and the booking's number."""
    initials = "".join(word[0] for word in website.split("-") if word).upper()
    return f"{initials}-{local_id.rsplit('-', 1)[-1].upper()}"


class OneBookingPusher:
    def __init__(
        self,
        store: LocationStore,
        *,
        gateway_url: str,
        api_key: str,
        website: str,
        retry_delays: Sequence[float] = RETRY_DELAYS_SECONDS,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.gateway_url = gateway_url
        self.api_key = api_key
        self.website = website
        self.retry_delays = tuple(retry_delays)
        self.timeout_seconds = timeout_seconds
        self._transport = transport
        self._sleep = sleep

    def payload(self, local_booking_id: str, event: str) -> dict[str, Any]:
        """The spec's /api/bookings/sync body for one of the store's bookings."""
        if event not in SYNC_EVENTS:
            raise ValueError(f"event must be one of {sorted(SYNC_EVENTS)}")
        booking = self.store.bookings[local_booking_id]
        service = self.store.services[booking.local_service_id]
        customer = self.store.customers.get(booking.local_customer_id)
        local_start = booking.start_at.astimezone(self.store.zone)
        return {
            "event": event,
            "source_booking_id": booking.local_id,
            "booking_ref": _booking_ref(self.website, booking.local_id),
            "package_name": service.name,
            "package_price": major_units(service.price_minor, service.currency),
            "activity_date": local_start.date().isoformat(),
            "time_slot": local_start.strftime("%H:%M"),
            "guest_count": 1,
            "total_amount": major_units(booking.price_minor, booking.currency),
            "discount_amount": 0,
            "currency": booking.currency,
            "status": _status_word(booking),
            "customer": {
                "name": f"{customer.first_name} {customer.last_name}".strip() if customer else "",
                "email": customer.email if customer else None,
                "phone": customer.phone if customer else None,
            },
            "created_at": booking.updated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        }

    async def push(self, local_booking_id: str, event: str) -> httpx.Response:
        """Send one booking; Central's answer, or the last failure once the retries are spent."""
        body = self.payload(local_booking_id, event)
        headers = {"X-API-Key": self.api_key}
        delays = iter(self.retry_delays)
        async with httpx.AsyncClient(
            base_url=self.gateway_url, timeout=self.timeout_seconds, transport=self._transport
        ) as client:
            while True:
                try:
                    response = await client.post(SYNC_PATH, json=body, headers=headers)
                except httpx.TransportError as error:
                    delay = next(delays, None)
                    if delay is None:
                        raise
                    failure = repr(error)
                else:
                    delay = next(delays, None) if _worth_retrying(response.status_code) else None
                    if delay is None:
                        return response
                    failure = f"HTTP {response.status_code}"
                logger.warning(
                    "%s: push of %s failed (%s), retrying in %g s", self.website, local_booking_id, failure, delay
                )
                await self._sleep(delay)


def _worth_retrying(status: int) -> bool:
    return status >= 500 or status == 429


def _status_word(booking: StoredBooking) -> str:
    """The website's status word: a confirmed booking the customer paid for is `paid`, a refunded one `refunded`."""
    if booking.payment_status == "refunded":
        return "refunded"
    if booking.payment_status == "paid" and booking.status == "confirmed":
        return "paid"
    return booking.status
