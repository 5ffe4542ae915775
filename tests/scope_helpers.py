"""Running the real resolvers with a narrower row scope, in the gateway's own event loop.

Authentication is not there yet, so a scope cannot arrive over HTTP: these helpers build the request
context a served request gets, with the scope a test chooses, and answer questions of the cache directly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Executable, Select, func, or_, select

from conftest import RunningGateway
from resolvers.context import Context
from resolvers.listing import ListResult
from resolvers.loaders import Loaders
from resolvers.pagination import PageArgs
from resolvers.scope import RowScope
from sources.cache.models import Booking, Customer, CustomerMapping, ResourceShare, StockLevel

T = TypeVar("T")

MANCHESTER = "manchester-central"
LEEDS = "leeds-headingley"
ONLY_MANCHESTER = RowScope.of_locations({MANCHESTER})
ALL_ROWS = PageArgs(first=500)

LENT_TO_MANCHESTER = select(ResourceShare.resource_id).where(
    ResourceShare.location_id == MANCHESTER, ResourceShare.is_active
)
KNOWN_AT_MANCHESTER = select(Customer.id).where(
    or_(
        Customer.primary_location_id == MANCHESTER,
        Customer.id.in_(select(CustomerMapping.customer_id).where(CustomerMapping.location_id == MANCHESTER)),
        # The customers of bookings served at or booked from Manchester: the scope shows those bookings.
        Customer.id.in_(
            select(Booking.customer_id).where(
                or_(Booking.service_location_id == MANCHESTER, Booking.originating_location_id == MANCHESTER)
            )
        ),
    )
)
HELD_AT_MANCHESTER = select(StockLevel.item_id).where(StockLevel.location_id == MANCHESTER)
LEEDS_OWN_BOOKINGS = select(Booking.id).where(
    Booking.service_location_id == LEEDS, Booking.originating_location_id == LEEDS
)


def run(gateway: RunningGateway, scope: RowScope, work: Callable[[Context], Awaitable[T]]) -> T:
    """`work` with a request context like a served request's, but with `scope`."""
    state = gateway.app.state

    async def in_context() -> T:
        context = Context(
            engine=state.engine,
            settings=state.settings,
            bus=state.bus,
            request_id="row-scope-test",
            opened_services=state.services,
            scope=scope,
        )
        return await work(context)

    return gateway.run(in_context())


def rows(gateway: RunningGateway, statement: Executable) -> list[Any]:
    async def fetch() -> list[Any]:
        async with gateway.engine.connect() as connection:
            return list((await connection.execute(statement)).all())

    return gateway.run(fetch())


def count(gateway: RunningGateway, statement: Select[Any]) -> int:
    return int(rows(gateway, select(func.count()).select_from(statement.subquery()))[0][0])


def first_id(gateway: RunningGateway, statement: Select[Any]) -> Any:
    found = rows(gateway, statement.limit(1))
    assert found, f"the demo network has no row for {statement}"
    return found[0][0]


def listed(
    gateway: RunningGateway, scope: RowScope, query: Callable[[Context], Awaitable[ListResult]]
) -> tuple[list[Any], int]:
    """(the rows of the first page, totalCount) of a list query."""

    async def page_and_total(context: Context) -> tuple[list[Any], int]:
        result = await query(context)
        return result.page.rows, await result.total_count()

    return run(gateway, scope, page_and_total)


def loaded(gateway: RunningGateway, name: str, key: Any, scope: RowScope = ONLY_MANCHESTER) -> Any:
    """What the request loader `Loaders.<name>` gives for `key` under `scope`."""

    async def load(context: Context) -> Any:
        return await getattr(context.loaders, name).load(key)

    return run(gateway, scope, load)


def loaded_by(
    gateway: RunningGateway, loader_of: Callable[[Loaders], Any], key: Any, scope: RowScope = ONLY_MANCHESTER
) -> Any:
    async def load(context: Context) -> Any:
        return await loader_of(context.loaders).load(key)

    return run(gateway, scope, load)
