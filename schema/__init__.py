"""The GraphQL schema: every domain's types and root fields merged into one."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from schema.bookings import Booking
from schema.catalog import Resource, Service
from schema.customers import Customer
from schema.errors import translate_errors
from schema.inventory import StockItem
from schema.locations import Location
from schema.queries.bookings import BookingQueries
from schema.queries.catalog import CatalogQueries
from schema.queries.network import NetworkQueries

Query = merge_types("Query", (NetworkQueries, BookingQueries, CatalogQueries))


class GatewaySchema(strawberry.Schema):
    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(query, *args, **kwargs)
        context = kwargs.get("context_value", args[1] if len(args) > 1 else None)
        return translate_errors(result, context)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in translate_errors: unexpected errors with the request id, expected ones not at all."""


def build_schema(*, introspection: bool = True, max_depth: int = 12, max_aliases: int = 30) -> strawberry.Schema:
    # Factories: strawberry builds each extension per request (the caches live at module level).
    extensions: list[Any] = [
        lambda: ParserCache(maxsize=1000),
        lambda: ValidationCache(maxsize=1000),
        lambda: QueryDepthLimiter(max_depth=max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=max_aliases),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return GatewaySchema(
        query=Query,
        types=[Location, Customer, Booking, Service, Resource, StockItem],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
    )
