"""Relay building blocks: the Node interface, page info, and generic connections."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.listing import ListResult

NodeT = TypeVar("NodeT")


@strawberry.interface(description="An object with a network-wide id that `node(id:)` can fetch again.")
class Node:
    id: strawberry.ID = strawberry.field(description='Global id, e.g. "Booking:bkg_3f9c…". Treat it as opaque.')


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow; ask again with `after: endCursor`.")
    has_previous_page: bool = strawberry.field(description="Items precede; ask with `before: startCursor`.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item of the page.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item of the page.")


@strawberry.type(description="An item of a list and the cursor that points at it.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Pass as `after` or `before` to page from this item.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list, with cursors and the total number of items.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items of this page with their cursors.")
    nodes: list[NodeT] = strawberry.field(description="The items of this page, without cursors.")
    page_info: PageInfo = strawberry.field(description="Whether more pages exist, and the cursors to reach them.")
    result: strawberry.Private[ListResult]

    @strawberry.field(description="How many items the whole list has (all pages), after filters.")
    async def total_count(self) -> int:
        return await self.result.total_count()


def build_connection(result: ListResult, convert: Callable[[Any], NodeT]) -> Connection[NodeT]:
    page = result.page
    nodes = [convert(row) for row in page.rows]
    return Connection(
        edges=[Edge(cursor=cursor, node=node) for cursor, node in zip(page.cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        result=result,
    )
