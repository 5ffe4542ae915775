"""What a node may read of the network: GET resources (its own and those lent to it, with the sharing rules),
GET inventory (stock it holds) and GET analytics (its revenue and bookings). Each is the GraphQL field's
resolver under the node's row scope; pages are keyset cursors (`next_cursor`, `has_more`)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse

from resolvers.catalog.queries import ResourceFilter, list_resources
from resolvers.inventory.queries import InventoryFilter, is_low, list_stock_items
from resolvers.listing import ListResult
from resolvers.pagination import PageArgs
from resolvers.revenue.queries import RevenueGrouping, RevenueRow, revenue_report
from shims.bookingx.wire import (
    INVALID,
    Day,
    node_context,
    node_endpoint,
    node_id_of,
)
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_query

PAGE_MAX = 200


class PageQuery(BaseModel):
    per_page: int = Field(default=50, ge=1, le=PAGE_MAX)
    cursor: str | None = Field(default=None, min_length=1, max_length=512)

    def args(self) -> PageArgs:
        return PageArgs(first=self.per_page, after=self.cursor)


def _next(result: ListResult) -> dict[str, Any]:
    page = result.page
    return {"next_cursor": page.cursors[-1] if page.cursors else None, "has_more": page.has_next_page}


class ResourcesQuery(PageQuery):
    resource_type: Literal["staff", "room", "equipment"] | None = None


class SharedResource(BaseModel):
    """A row of the spec's bkx_network_shared_resources, as the node may see it."""

    global_resource_id: str = Field(max_length=64)
    resource_type: str = Field(max_length=20)
    local_resource_id: str = Field(max_length=64)
    owning_node_id: str = Field(max_length=64)
    owned: bool
    name: str = Field(max_length=200)
    title: str = Field(max_length=200)
    skill: str | None = Field(max_length=50)
    capacity: int = Field(ge=0)
    is_active: bool
    sharing_nodes: list[str] = Field(max_length=1000)
    sharing_rules: dict[str, dict[str, JsonValue]]


class ResourcesAnswer(BaseModel):
    resources: list[SharedResource] = Field(max_length=PAGE_MAX)
    next_cursor: str | None = Field(max_length=512)
    has_more: bool


async def answer_resources(request: Request) -> JSONResponse:
    principal, context = await node_context(request)
    query = parse_query(request, ResourcesQuery, code=INVALID)
    kinds: list[str] | None = None if query.resource_type is None else [query.resource_type]
    result = await list_resources(context, ResourceFilter(kinds=kinds), query.args())
    rows = result.page.rows
    shares = await asyncio.gather(*(context.loaders.resource_shares_by_resource_id.load(row.id) for row in rows))
    node_id = node_id_of(principal)
    resources = []
    for row, lent in zip(rows, shares, strict=True):
        active = [share for share in lent if share.is_active]
        resources.append(
            SharedResource(
                global_resource_id=row.id,
                resource_type=row.kind,
                local_resource_id=row.local_resource_id,
                owning_node_id=row.location_id,
                owned=row.location_id == node_id,
                name=row.name,
                title=row.title,
                skill=row.skill,
                capacity=row.capacity,
                is_active=row.is_active,
                sharing_nodes=[share.location_id for share in active],
                sharing_rules={share.location_id: dict(share.rules or {}) for share in active},
            )
        )
    answer = ResourcesAnswer(resources=resources, **_next(result))
    return JSONResponse(answer.model_dump(mode="json"))


class InventoryQuery(PageQuery):
    low_stock_only: bool = False
    search: str | None = Field(default=None, min_length=1, max_length=100)


class StockLevelView(BaseModel):
    node_id: str = Field(max_length=64)
    quantity: int
    reserved: int
    available: int
    reorder_point: int
    low_stock: bool
    expires_on: date | None
    version: int


class InventoryItem(BaseModel):
    sku: str = Field(max_length=64)
    name: str = Field(max_length=200)
    category: str = Field(max_length=100)
    unit: str = Field(max_length=20)
    levels: list[StockLevelView] = Field(max_length=1000)


class InventoryAnswer(BaseModel):
    inventory: list[InventoryItem] = Field(max_length=PAGE_MAX)
    next_cursor: str | None = Field(max_length=512)
    has_more: bool


async def answer_inventory(request: Request) -> JSONResponse:
    _, context = await node_context(request)
    query = parse_query(request, InventoryQuery, code=INVALID)
    where = InventoryFilter(low_stock_only=query.low_stock_only, search=query.search)
    result = await list_stock_items(context, where, query.args())
    rows = result.page.rows
    levels = await asyncio.gather(*(context.loaders.stock_levels_by_item_id.load(row.id) for row in rows))
    items = [
        InventoryItem(
            sku=row.sku,
            name=row.name,
            category=row.category,
            unit=row.unit,
            levels=[
                StockLevelView(
                    node_id=level.location_id,
                    quantity=level.quantity,
                    reserved=level.reserved,
                    available=level.quantity - level.reserved,
                    reorder_point=level.reorder_point,
                    low_stock=is_low(level.quantity, level.reserved, level.reorder_point),
                    expires_on=level.expires_on,
                    version=level.version,
                )
                for level in held
            ],
        )
        for row, held in zip(rows, levels, strict=True)
    ]
    answer = InventoryAnswer(inventory=items, **_next(result))
    return JSONResponse(answer.model_dump(mode="json"))


class AnalyticsQuery(BaseModel):
    # `from` is a Python keyword: the query names it, the model calls it start.
    start: Day = Field(alias="from")
    end: Day = Field(alias="to")
    group_by: Literal["day", "node"] = "day"


class Figures(BaseModel):
    day: date | None
    node_id: str | None = Field(max_length=64)
    currency: str = Field(max_length=3)
    gross_minor: int
    commission_minor: int
    tax_minor: int
    net_minor: int
    bookings: int = Field(ge=0)
    cross_location_bookings: int = Field(ge=0)


class AnalyticsAnswer(BaseModel):
    node_id: str = Field(max_length=64)
    from_: date = Field(serialization_alias="from")
    to: date
    rows: list[Figures] = Field(max_length=2000)
    totals: list[Figures] = Field(max_length=200)


def _figures(row: RevenueRow) -> Figures:
    return Figures(
        day=row.day,
        node_id=row.location_id,
        currency=row.currency,
        gross_minor=row.gross_minor,
        commission_minor=row.commission_minor,
        tax_minor=row.tax_minor,
        net_minor=row.net_minor,
        bookings=row.booking_count,
        cross_location_bookings=row.cross_location_booking_count,
    )


async def answer_analytics(request: Request) -> JSONResponse:
    principal, context = await node_context(request)
    query = parse_query(request, AnalyticsQuery, code=INVALID)
    grouping = RevenueGrouping.DAY if query.group_by == "day" else RevenueGrouping.LOCATION
    report = await revenue_report(context, query.start, query.end, grouping)
    answer = AnalyticsAnswer(
        node_id=node_id_of(principal),
        from_=query.start,
        to=query.end,
        rows=[_figures(row) for row in report.rows],
        totals=[_figures(row) for row in report.totals],
    )
    return JSONResponse(answer.model_dump(mode="json", by_alias=True))


def network_endpoints() -> list[Endpoint]:
    return [
        node_endpoint(
            "GET",
            "resources",
            answer_resources,
            "The resources a node owns or has lent to it, with each lending's sharing rules",
            query_model=ResourcesQuery,
            response_model=ResourcesAnswer,
        ),
        node_endpoint(
            "GET",
            "inventory",
            answer_inventory,
            "Stock levels the node holds, by item",
            query_model=InventoryQuery,
            response_model=InventoryAnswer,
        ),
        node_endpoint(
            "GET",
            "analytics",
            answer_analytics,
            "The node's revenue and booking figures for service days from..to (inclusive)",
            query_model=AnalyticsQuery,
            response_model=AnalyticsAnswer,
        ),
    ]
