"""The GraphQL schema: every domain's types and root fields merged into one."""

from __future__ import annotations

import functools
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    ParserCache,
    query_depth_limiter,
)
from strawberry.extensions import max_aliases as max_aliases_extension
from strawberry.federation import Schema as FederationSchema
from strawberry.federation.schema import FederationAny
from strawberry.printer import print_schema
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StreamResult
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from resolvers.context import Context
from schema.audit.queries import AuditQueries
from schema.availability.queries import AvailabilityQueries
from schema.bookings.queries import BookingQueries
from schema.bookings.types import Booking
from schema.catalog.queries import CatalogQueries
from schema.catalog.types import Resource, Service
from schema.compiled.extension import PLAN_CACHE_SIZE, CompiledReads
from schema.compiled.lane import CompiledLane
from schema.cost import CostModel
from schema.customers.queries import CustomerQueries
from schema.customers.types import Customer
from schema.errors import translate_errors
from schema.extensions import FreshnessExtension
from schema.federation import ANY_SCALAR, FEDERATION_VERSION, FederationQueries
from schema.heavy_gate import HeavyOperationGate, HeavyOperationsTakeTurns
from schema.introspection import AnonymousIntrospectionRefused, FederationSdlDisabled
from schema.inventory.queries import InventoryQueries
from schema.inventory.types import StockItem
from schema.limits import COST_CACHE_SIZE, VALIDATION_CACHE_SIZE, CachedValidation, DocumentCache, RequestLimits
from schema.locations.queries import LocationQueries
from schema.locations.types import Location
from schema.metrics import MetricsExtension
from schema.mutation import Mutation
from schema.nodes import NodeQueries
from schema.operation_log import OperationNameLogged
from schema.response_cache import MutationsInvalidate
from schema.revenue.queries import RevenueQueries
from schema.subscriptions import Subscription
from schema.subscriptions.shared import SharedSubscriptions
from schema.subscriptions.streams import operation_context, translated_stream
from schema.sync.outbox import OutboxQueries
from schema.sync.queries import SyncQueries
from schema.sync.types import Conflict, SyncJob

Query = merge_types(
    "Query",
    (
        NodeQueries,
        LocationQueries,
        BookingQueries,
        CustomerQueries,
        CatalogQueries,
        InventoryQueries,
        RevenueQueries,
        AvailabilityQueries,
        OutboxQueries,
        SyncQueries,
        AuditQueries,
        FederationQueries,
    ),
)


class GatewaySchema(FederationSchema):
    """A Federation v2 subgraph schema (schema/federation.py) with the gateway's own execution around it."""

    # With introspection off, errors in coercing variables do not suggest names either (set by build_schema).
    hide_suggestions: bool = False
    # Query texts the compiled read path answered, answered again by the HTTP view directly (set by build_schema).
    compiled_lane: CompiledLane | None = None

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        # Strawberry passes these on to graphql-core's execute(), which takes hide_suggestions among them.
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.hide_suggestions:
            kwargs["hide_suggestions"] = True
        return kwargs

    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> ExecutionResult:
        result = await super().execute(query, *args, **kwargs)
        context = kwargs.get("context_value", args[1] if len(args) > 1 else None)
        if isinstance(context, Context):
            # graphql-core's ExecutionContext is a reference cycle that holds the context: drop the loaders'
            # rows and objects now so reference counting frees them, instead of the cyclic GC much later.
            context.reset_loaders()
        return translate_errors(result, context)

    async def stream(self, query: str | None, *args: Any, **kwargs: Any) -> StreamResult:
        # Strawberry hands a WebSocket connection's one context to all its operations: give each its own.
        context = kwargs.get("context_value")
        if isinstance(context, Context) and not args:
            # Subscribers that would get the same answers share one execution per event (shared.py).
            shared = await self.shared_subscriptions.stream(
                query, kwargs, context, lambda alone: self._stream_alone(query, {**kwargs, "context_value": alone})
            )
            if shared is not None:
                return shared
        if isinstance(context, Context):
            kwargs["context_value"] = context = operation_context(context)
        return translated_stream(await super().stream(query, *args, **kwargs), context)

    async def _stream_alone(self, query: str | None, kwargs: dict[str, Any]) -> StreamResult:
        return translated_stream(await super().stream(query, **kwargs), kwargs.get("context_value"))

    @functools.cached_property
    def shared_subscriptions(self) -> SharedSubscriptions:
        return SharedSubscriptions(self._schema)

    @functools.cached_property
    def subgraph_sdl(self) -> str:
        """The SDL `_service { sdl }` answers (schema.federation), printed once: the schema does not change."""
        return print_schema(self)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Logging happens in translate_errors: unexpected errors with the request id, expected ones not at all."""


def build_schema(
    *,
    introspection: bool = True,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_query_cost: int | None = None,
    default_page_size: int = 20,
    max_page_size: int = 500,
    heavy_query_cost: int = 0,
) -> strawberry.Schema:
    """The schema with the request limits: depth, aliases, the cost of an operation (none when None), and the
    caller's rate limit (the context's services hold the buckets)."""
    # Factories: strawberry builds each extension per request (the caches live at module level).
    # The rule classes are built once: QueryDepthLimiter/MaxAliasesLimiter build new classes per instance,
    # which made every request's rules tuple new, so the validation cache never hit.
    rules: list[type[ASTValidationRule]] = [
        query_depth_limiter.create_validator(max_depth, None),
        max_aliases_extension.create_validator(max_aliases),
    ]
    if not introspection:
        rules.append(FederationSdlDisabled)  # the SDL is the schema: off with introspection
    cost_model = CostModel(default_page_size=default_page_size, max_page_size=max_page_size)
    # The schema's own caches (one per built schema, shared by its requests): costs and validation results.
    costs, validations = DocumentCache(COST_CACHE_SIZE), DocumentCache(VALIDATION_CACHE_SIZE)
    plans = DocumentCache(PLAN_CACHE_SIZE)
    gate = HeavyOperationGate(threshold=heavy_query_cost) if heavy_query_cost > 0 else None
    lane = CompiledLane(model=cost_model, max_cost=max_query_cost, costs=costs, gate=gate)
    extensions: list[Any] = [
        # First: RequestLimits raises from on_execute, and must not skip another extension's on_execute exit.
        lambda: RequestLimits(model=cost_model, max_cost=max_query_cost, costs=costs),
        *([lambda: HeavyOperationsTakeTurns(gate=gate, model=cost_model, costs=costs)] if gate is not None else []),
        # After RequestLimits: an operation it refuses never enters this one's on_execute (counted as refused).
        MetricsExtension,
        lambda: ParserCache(maxsize=1000),
        lambda: CachedValidation(hide_suggestions=not introspection, validations=validations),
        lambda: AddValidationRules(rules),
        FreshnessExtension,
        AnonymousIntrospectionRefused,
        OperationNameLogged,
        MutationsInvalidate,
        # Last: every other on_execute hook (limits, metrics) has seen the operation before it may answer it.
        lambda: CompiledReads(plans=plans, lane=lane),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Location, Customer, Booking, Service, Resource, StockItem, SyncJob, Conflict],
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        scalar_overrides={FederationAny: ANY_SCALAR},
        federation_version=FEDERATION_VERSION,
    )
    schema.hide_suggestions = not introspection
    # The lane does the work of these extensions itself (schema/compiled/lane.py); one it does not know would be
    # skipped for repeated compiled queries, so a schema with another extension runs without the lane.
    installed = {type(factory()) if not isinstance(factory, type) else factory for factory in extensions}
    schema.compiled_lane = lane if installed <= LANE_KNOWS else None
    return schema


# What the compiled lane does in the extensions' place, or what has nothing to do for a compiled query whose
# text already parsed and validated: parsing, validation and its rules, introspection refusals (no compiled
# field is an introspection field), mutation invalidation (only queries compile).
LANE_KNOWS: frozenset[type] = frozenset(
    {
        RequestLimits,
        HeavyOperationsTakeTurns,
        MetricsExtension,
        ParserCache,
        CachedValidation,
        AddValidationRules,
        FreshnessExtension,
        AnonymousIntrospectionRefused,
        OperationNameLogged,
        MutationsInvalidate,
        CompiledReads,
        DisableIntrospection,
    }
)
