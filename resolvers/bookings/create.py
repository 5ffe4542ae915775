"""createBooking: claim a free resource in the cache, then send the booking to its service location.

With a service the location is fixed; with a category the gateway picks the nearest location that
offers it, takes bookings through the gateway and has a free resource then.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers import bounds
from resolvers.authorization import may_book_at, require_booking_for, require_visible_customer
from resolvers.bookings.slots import (
    booked_end,
    claim_resource,
    eligible_resources,
    local_resource_ref,
    within_opening_hours,
)
from resolvers.categories import offering, require_known
from resolvers.context import Context
from resolvers.errors import (
    ForbiddenError,
    InvalidInputError,
    LocationUnavailableError,
    NotFoundError,
    SlotUnavailableError,
)
from resolvers.idempotency import run_idempotent
from resolvers.locations.nearby import GeoPoint, require_point, require_reach, serving_near
from resolvers.results import WriteResult
from resolvers.writing import (
    audit_write,
    deliver,
    enqueue_for_owner,
    get_or_not_found,
    location_supports,
    new_id,
    require_capability,
    require_future,
)
from sources.cache.models import Booking, Customer, CustomerMapping, Location, Resource, Service
from sources.connectors.base import Capability
from sync.outbox.delivery import DeliveryStatus
from sync.outbox.messages import BookingCreateMessage, customer_details
from sync.outbox.queue import Queued


@dataclass(frozen=True, slots=True)
class NewCustomer:
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class CreateBooking:
    idempotency_key: str
    start_at: datetime
    service_id: str | None = None
    category: str | None = None  # with no service: the nearest location offering this category
    originating_location_id: str | None = None
    customer_id: str | None = None
    new_customer: NewCustomer | None = None
    resource_id: str | None = None
    near_latitude: float | None = None
    near_longitude: float | None = None
    max_distance_km: float = 50.0
    currency: str | None = None
    notes: str = ""
    # Longer than the service lasts: a stay of several nights at a hotel (resolvers/hotels/stays.py). The
    # default is the service's own duration.
    end_at: datetime | None = None


async def _customer(session: AsyncSession, request: CreateBooking) -> Customer:
    if request.customer_id is not None:
        customer: Customer = await get_or_not_found(session, Customer, request.customer_id, "customer")
        return customer
    details = request.new_customer
    if details is None:
        raise InvalidInputError("give `customerId` or `newCustomer`", field="customerId")
    if not details.first_name.strip() or not details.last_name.strip():
        raise InvalidInputError("a new customer needs a first and a last name", field="newCustomer")
    if details.email:
        known = (
            (await session.execute(select(Customer).where(func.lower(Customer.email) == details.email.lower())))
            .scalars()
            .first()
        )
        if known is not None:
            return known
    customer = Customer(
        id=new_id("cus"),
        primary_location_id="",
        first_name=details.first_name.strip(),
        last_name=details.last_name.strip(),
        email=details.email,
        phone=details.phone,
        preferences={},
        consents={},
    )
    return customer


async def _candidate_services(
    context: Context, session: AsyncSession, request: CreateBooking
) -> list[tuple[Service, Location]]:
    """The service asked for, or every location's service in the category, nearest first within range."""
    if request.service_id is not None:
        service: Service = await get_or_not_found(session, Service, request.service_id, "service")
        if not service.is_active:
            raise InvalidInputError(f"{service.name} is no longer offered", field="serviceId")
        location = await session.get_one(Location, service.location_id)
        return [(service, location)]
    if not request.category:
        raise InvalidInputError(
            "give `serviceId`, or `category` to let the gateway pick the location", field="serviceId"
        )
    require_known(context.services.categories, request.category)
    rows = (
        await session.execute(
            select(Service, Location)
            .join(Location, Location.id == Service.location_id)
            .where(offering(context.services.categories, Service.location_id, Service.category, request.category))
            .where(Service.is_active)
            .order_by(Service.id)
        )
    ).all()
    if not rows:
        raise NotFoundError(f"no location offers {request.category}", field="category")
    origin = await _origin_point(session, request)
    nearby = serving_near(((service, location) for service, location in rows), origin, request.max_distance_km)
    if not nearby:
        raise SlotUnavailableError(f"no location offers {request.category} within {request.max_distance_km:g} km")
    within = [n for n in nearby if not n.offline]  # an offline location cannot take a booking now
    if not within:
        raise LocationUnavailableError(
            f"every location offering {request.category} within {request.max_distance_km:g} km is offline"
        )
    return [(n.candidate, n.location) for n in within if context.services.connectors.get(n.location.id) is not None]


def _near(request: CreateBooking) -> GeoPoint | None:
    if request.near_latitude is None or request.near_longitude is None:
        return None
    return GeoPoint(request.near_latitude, request.near_longitude)


async def _origin_point(session: AsyncSession, request: CreateBooking) -> GeoPoint:
    near = _near(request)
    if near is not None:
        return near
    if request.originating_location_id is not None:
        origin = await get_or_not_found(session, Location, request.originating_location_id, "location")
        return GeoPoint(origin.latitude, origin.longitude)
    raise InvalidInputError("choosing a location needs `near` or `originatingLocationId`", field="near")


async def _claim(
    context: Context, session: AsyncSession, request: CreateBooking, service: Service, location: Location
) -> tuple[Booking, Resource]:
    end_at, periods = booked_end(service, request.start_at, request.end_at)
    if not within_opening_hours(location, request.start_at, end_at):
        raise SlotUnavailableError(f"{location.name} is closed then")
    candidates = await eligible_resources(session, service, location.id)
    if request.resource_id is not None:
        candidates = [resource for resource in candidates if resource.id == request.resource_id]
        if not candidates:
            raise InvalidInputError(
                f"resource {request.resource_id} cannot deliver {service.name} at {location.name}", field="resourceId"
            )
    resource = await claim_resource(
        session, candidates, location.id, request.start_at, end_at, lock_rows=context.services.writer.locks_rows
    )
    return Booking(
        id=new_id("bkg"),
        originating_location_id=request.originating_location_id or location.id,
        service_location_id=location.id,
        customer_id="",
        service_id=service.id,
        resource_id=resource.id,
        local_booking_id="",
        start_at=request.start_at,
        end_at=end_at,
        status="pending",
        price_minor=service.price_minor * periods,
        currency=service.currency,
        notes=request.notes,
        version=1,
    ), resource


def check_bounds(request: CreateBooking) -> None:
    """Every value of the request within its bounds (resolvers.bounds), before anything is read or written."""
    bounds.idempotency_key(request.idempotency_key)
    bounds.instant("startAt", request.start_at)
    bounds.optional_instant("endAt", request.end_at)
    for field, value in (
        ("serviceId", request.service_id),
        ("originatingLocationId", request.originating_location_id),
        ("customerId", request.customer_id),
        ("resourceId", request.resource_id),
    ):
        bounds.optional_key(field, value)
    bounds.optional_text("category", request.category, bounds.CATEGORY_LENGTH)
    details = request.new_customer
    if details is not None:
        # Blank names are refused where the customer is made (field newCustomer); here only their bounds.
        bounds.text("newCustomer.firstName", details.first_name, bounds.NAME_LENGTH)
        bounds.text("newCustomer.lastName", details.last_name, bounds.NAME_LENGTH)
        if details.email is not None:
            bounds.email("newCustomer.email", details.email)
        if details.phone is not None:
            bounds.phone("newCustomer.phone", details.phone)
    if request.near_latitude is not None:
        bounds.number("near.latitude", request.near_latitude, -90.0, 90.0)
    if request.near_longitude is not None:
        bounds.number("near.longitude", request.near_longitude, -180.0, 180.0)
    bounds.number("maxDistanceKm", request.max_distance_km, 0.0, bounds.DISTANCE_KM_MAX, low_inclusive=False)
    if request.currency is not None:
        bounds.currency("currency", request.currency)
    bounds.text("notes", request.notes, bounds.NOTES_LENGTH, multiline=True)


async def _validate_create(context: Context, request: CreateBooking) -> None:
    check_bounds(request)
    require_future("startAt", request.start_at)
    require_reach(request.max_distance_km)
    require_point(_near(request))
    async with context.engine.connect() as connection:
        if request.originating_location_id is not None:
            known = (
                await connection.execute(select(Location.id).where(Location.id == request.originating_location_id))
            ).scalar()
            if known is None:
                raise NotFoundError(f"no location {request.originating_location_id}", field="originatingLocationId")


async def create_booking(context: Context, request: CreateBooking) -> WriteResult:
    require_booking_for(context, request.customer_id)
    if request.customer_id is not None:
        await require_visible_customer(context, request.customer_id)
    await _validate_create(context, request)

    async def perform() -> WriteResult:
        last_error: SlotUnavailableError | None = None
        # Only reads so far: no need to queue behind the cache's writers.
        async with AsyncSession(context.engine) as session:
            customer = await _customer(session, request)
            choices = await _candidate_services(context, session, request)
            origin = request.originating_location_id
            choices = [(s, loc) for s, loc in choices if may_book_at(context, loc.id, origin)]
            if not choices:
                raise ForbiddenError("you do not act for the location that would serve this booking")
            service, location = choices[0]
            if request.currency is not None and request.currency.upper() != service.currency:
                raise InvalidInputError(
                    f"{service.name} is priced in {service.currency}, not {request.currency}", field="currency"
                )
        if request.service_id is None:
            # Choosing for the caller: only locations that take bookings through the gateway are candidates.
            choices = [(s, loc) for s, loc in choices if location_supports(context, loc.id, Capability.CREATE_BOOKING)]
            if not choices:
                raise SlotUnavailableError(f"no location near enough takes {request.category} bookings online")
        for service, location in choices:
            require_capability(context, location, Capability.CREATE_BOOKING, "take bookings")
            try:
                booking_id, message_id = await _claim_and_queue(context, request, customer, service, location)
            except SlotUnavailableError as error:
                last_error = error
                continue
            result = await deliver(context, "booking", booking_id, [message_id])
            outcome = result.outcomes[0]
            if outcome.status is DeliveryStatus.FAILED and outcome.code == "SLOT_UNAVAILABLE":
                last_error = SlotUnavailableError(outcome.reason or "the location has that slot taken")
                continue
            return result
        assert last_error is not None
        raise last_error

    arguments = asdict(request)
    if request.end_at is None:
        del arguments["end_at"]  # the arguments (and so the keys' hashes) as they were before stays existed
    return await run_idempotent(context, "createBooking", request.idempotency_key, arguments, perform)


async def _claim_and_queue(
    context: Context, request: CreateBooking, customer: Customer, service: Service, location: Location
) -> tuple[str, Queued]:
    async with context.services.writer.transaction() as session:
        if await session.get(Customer, customer.id) is None:
            customer.primary_location_id = request.originating_location_id or location.id
            session.add(customer)
            await session.flush()
        booking, resource = await _claim(context, session, request, service, location)
        booking.customer_id = customer.id
        session.add(booking)
        await session.flush()
        mapping = (
            await session.execute(
                select(CustomerMapping.local_customer_id).where(
                    CustomerMapping.customer_id == customer.id, CustomerMapping.location_id == location.id
                )
            )
        ).scalar()
        message = BookingCreateMessage(
            booking_id=booking.id,
            customer=customer_details(customer),
            local_customer_id=mapping,
            local_service_id=service.local_service_id,
            local_resource_id=local_resource_ref(resource, location.id),
            start_at=booking.start_at,
            end_at=booking.end_at,
            price_minor=booking.price_minor,
            currency=booking.currency,
            notes=booking.notes,
            originating_location_id=booking.originating_location_id,
        )
        message_id = await enqueue_for_owner(
            session, location_id=location.id, message=message, key=f"{request.idempotency_key}:create"
        )
        await audit_write(
            context,
            session,
            action="booking.create",
            entity_type="booking",
            entity_id=booking.id,
            location_id=location.id,
            details={"start_at": booking.start_at, "resource_id": resource.id},
        )
        return booking.id, message_id
