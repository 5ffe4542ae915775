"""POST sync/conflict-resolve: a node settles a pending conflict it is a side of (the GraphQL resolveConflict).

The spec's strategies from the node's side: node_wins keeps the node's own change, hub_wins the other side's
(the network's, or another node's), merge takes `resolved_data` field by field. A conflict the node is no side
of is not found (the row scope does not show it); a conflict resolved already is 409 bkx_conflict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, JsonValue, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from resolvers.sync_admin.queries import resolve_conflict
from shims.bookingx.wire import (
    INVALID,
    Strict,
    node_context,
    node_endpoint,
    node_id_of,
)
from shims.common.endpoint import Endpoint
from shims.common.parsing import parse_body
from shims.common.refusal import Refusal
from sync.types import ConflictChoice

PENDING_SHOWN = 50  # the newest; the rest follow as these are resolved


class PendingConflict(BaseModel):
    """A row of the spec's bkx_network_conflicts that waits for a decision (POST sync/conflict-resolve)."""

    conflict_id: str = Field(max_length=64)
    conflict_type: str = Field(max_length=50)
    entity_type: str = Field(max_length=50)
    entity_id: str = Field(max_length=64)
    source_node_id: str = Field(max_length=64)
    target_node_id: str | None = Field(max_length=64)
    source_data: dict[str, JsonValue]
    target_data: dict[str, JsonValue]
    created_at: datetime


class ConflictResolveRequest(Strict):
    conflict_id: str = Field(min_length=1, max_length=64)
    strategy: Literal["node_wins", "hub_wins", "merge"]
    resolved_data: dict[str, JsonValue] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _merge_has_data(self) -> ConflictResolveRequest:
        if (self.strategy == "merge") != (self.resolved_data is not None):
            raise ValueError("resolved_data goes with strategy merge, and only with it")
        return self


class ConflictAnswer(BaseModel):
    conflict_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    entity_type: str = Field(max_length=50)
    entity_id: str = Field(max_length=64)
    resolution_strategy: str | None = Field(max_length=50)
    resolved_data: dict[str, JsonValue] | None
    resolved_at: datetime | None


async def answer_conflict_resolve(request: Request) -> JSONResponse:
    principal, context = await node_context(request)
    decision = await parse_body(request, ConflictResolveRequest, code=INVALID)
    # The row scope shows a node only the conflicts it is a side of; any other id is not found.
    conflict = await context.loaders.conflict_by_id.load(decision.conflict_id)
    if conflict is None:
        raise Refusal(404, "rest_not_found", f"no conflict {decision.conflict_id} concerns this node")
    # The spec's words, from the node's side: node_wins keeps its own change, hub_wins the other side's.
    own = ConflictChoice.LOCATION if conflict.source_location_id == node_id_of(principal) else ConflictChoice.NETWORK
    other = ConflictChoice.NETWORK if own is ConflictChoice.LOCATION else ConflictChoice.LOCATION
    choice = {"node_wins": own, "hub_wins": other}.get(decision.strategy)
    await resolve_conflict(
        context,
        decision.conflict_id,
        choice=None if choice is None else choice.value,
        merged=decision.resolved_data if choice is None else None,
    )
    context.reset_loaders()
    now = await context.loaders.conflict_by_id.load(decision.conflict_id)
    assert now is not None  # resolving keeps the row
    answer = ConflictAnswer(
        conflict_id=now.id,
        status=now.status,
        entity_type=now.entity_type,
        entity_id=now.entity_id,
        resolution_strategy=now.resolution_strategy,
        resolved_data=now.resolved_data,
        resolved_at=now.resolved_at,
    )
    return JSONResponse(answer.model_dump(mode="json"))


def conflict_endpoint() -> Endpoint:
    return node_endpoint(
        "POST",
        "sync/conflict-resolve",
        answer_conflict_resolve,
        "A node settles a pending conflict it is a side of",
        request_model=ConflictResolveRequest,
        response_model=ConflictAnswer,
        refusals={
            404: "rest_not_found: no conflict of this node has that id",
            409: "bkx_conflict: the conflict was resolved already",
        },
    )
