"""Writing a booking's revenue entries into the cache (the split itself is in revenue.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import Booking, Location, RevenueEntry
from sources.cache.payments import PaymentStatus, entry_payment_status
from sources.cache.revenue import LocationRates, SplitRules, split_revenue


async def replace_revenue_entries(session: AsyncSession, booking: Booking, split: SplitRules) -> None:
    """Drop the booking's entries and write them anew, their payment status as its location last reported
    (sources.cache.payments); a cancelled booking nobody paid for keeps none."""
    await session.execute(delete(RevenueEntry).where(RevenueEntry.booking_id == booking.id))
    payment_status = entry_payment_status(booking.status, booking.reported_payment)
    if payment_status is None:
        return
    paid_at = booking.payment_reported_at if payment_status is PaymentStatus.PAID else None
    ids = {booking.originating_location_id, booking.service_location_id}
    locations = {row.id: row for row in (await session.execute(select(Location).where(Location.id.in_(ids)))).scalars()}
    service_location = locations[booking.service_location_id]
    business_date = booking.start_at.astimezone(ZoneInfo(service_location.timezone)).date()
    cross_location = booking.originating_location_id != booking.service_location_id
    rates = {
        location.id: LocationRates(location.id, location.tax_rate_bp, location.commission_rate_bp)
        for location in locations.values()
    }
    shares = split_revenue(
        booking.price_minor,
        rates[booking.originating_location_id],
        rates[booking.service_location_id],
        split.originating_share_bp(booking.originating_location_id, booking.service_location_id, booking.service_id),
        split.fixed_commission(booking.currency),
    )
    await session.execute(
        insert(RevenueEntry),
        [
            {
                "booking_id": booking.id,
                "location_id": share.location_id,
                "role": share.role,
                "share_bp": share.share_bp,
                "amount_minor": share.amount_minor,
                "commission_minor": share.commission_minor,
                "tax_minor": share.tax_minor,
                "currency": booking.currency,
                "payment_status": payment_status.value,
                "paid_at": paid_at,
                "is_cross_location": cross_location,
                "business_date": business_date,
            }
            for share in shares
        ],
    )
