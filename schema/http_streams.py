"""Subscriptions over plain HTTP: GraphQL over SSE and multipart HTTP subscriptions, beside the WebSocket ones.

Strawberry's async view speaks both once they are among its `subscription_protocols`; what runs is the same
as over WebSocket (the same Subscription fields, the caller's principal from the `Authorization: Bearer` header,
the same row scope filtering the bus's events), only the framing differs:

- **GraphQL over SSE**, graphql-sse's distinct connections mode: a request with `Accept: text/event-stream`
  (POST with a JSON body, or GET with `query`/`variables` parameters) answers one event stream of `next`
  events, then `complete`, with a `: ping` comment every 15 s while nothing happens.
- **Multipart subscriptions**, Apollo's protocol (what Apollo Client's HttpLink sends for a subscription):
  `Accept: multipart/mixed;subscriptionSpec=1.0` answers parts of `{"payload": <result>}`, with a `{}`
  heartbeat part at once and every 5 s.

Two rules differ from strawberry's: a subscription may come by GET over SSE (the graphql-sse spec allows it
and a subscription writes nothing; a mutation by GET stays refused), and the multipart media range is found
wherever it stands in the Accept list, not only first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from strawberry.http.streaming import HTTPStreamTransport, MultipartSubscriptionTransport, SSETransport
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types.graphql import OperationType

__all__ = ["HTTP_STREAM_TRANSPORTS", "SUBSCRIPTION_PROTOCOLS"]

SUBSCRIPTION_PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)


class EventStreamTransport(SSETransport):
    """GraphQL over SSE, distinct connections mode, subscriptions by GET included."""

    def allowed_operation_types(self, allowed_operation_types: set[OperationType]) -> Iterable[OperationType]:
        # GET allows only queries (so that a link or a prefetch never writes); a subscription writes nothing.
        return allowed_operation_types | {OperationType.SUBSCRIPTION}


class MultipartSubscriptions(MultipartSubscriptionTransport):
    """Apollo's multipart HTTP subscriptions, whichever place the media range has in the Accept list."""

    def accepts(self, accept: str) -> bool:
        # Strawberry parses the whole Accept list as one media type, so `application/json, multipart/mixed;…`
        # (or a quoted subscriptionSpec after another range) would be answered with plain JSON.
        return any(super(MultipartSubscriptions, self).accepts(part) for part in accept.split(",") if part.strip())


HTTP_STREAM_TRANSPORTS: Mapping[str, type[HTTPStreamTransport]] = MappingProxyType(
    {GRAPHQL_SSE_PROTOCOL: EventStreamTransport, MULTIPART_SUBSCRIPTION_PROTOCOL: MultipartSubscriptions}
)
