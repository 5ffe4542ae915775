"""The WebSocket protocols' handlers, sending a shared subscription's answer as the bytes encoded once.

Strawberry's handlers build and encode every `next` message from the result, once per subscriber; for a
`SharedResult` (shared.py) these splice the payload encoded once into the message instead. Everything
else (other results, errors, the protocol's own messages) goes as strawberry sends it.
"""

from __future__ import annotations

import json

from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler, Operation
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from resolvers.context import Context
from schema.subscriptions.shared import SharedResult


async def send_text(websocket: AsyncWebSocketAdapter, text: str) -> None:
    if not isinstance(websocket, ASGIWebSocketAdapter):
        await websocket.send_json(json.loads(text))  # another server adapter: encoded again, still correct
        return
    try:
        await websocket.ws.send_text(text)
    except WebSocketDisconnect as gone:
        raise WebSocketDisconnected from gone


class SharedBytesTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws."""

    async def _send_result_stream(self, operation: Operation[Context, None], result_source: StreamResult) -> None:
        # What precedes the payload in every `next` of this operation: encoded once, not once per event.
        head = f'{{"id":{json.dumps(operation.id)},"type":"next","payload":'
        is_first_result = True
        async for result in result_source:
            if is_first_result and isinstance(result, PreExecutionError):
                await self._handle_pre_execution_error(operation, result)
                return
            if not isinstance(result, ExecutionResult):
                await self._reject_incremental_delivery(operation)
                return
            if isinstance(result, SharedResult):
                if not operation.completed:
                    await send_text(self.websocket, f"{head}{result.payload}}}")
            else:
                await operation.send_next(result)
            is_first_result = False


class SharedBytesGraphQLWS(BaseGraphQLWSHandler[Context, None]):
    """graphql-ws, the legacy protocol."""

    async def send_data_message(self, execution_result: ExecutionResult, operation_id: str) -> None:
        if isinstance(execution_result, SharedResult):
            id_ = json.dumps(operation_id)
            await send_text(self.websocket, f'{{"type":"data","id":{id_},"payload":{execution_result.payload}}}')
            return
        await super().send_data_message(execution_result, operation_id)
