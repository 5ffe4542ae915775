"""One typed message per outbox operation, and the table that names each operation's type.

A new operation is a frozen dataclass in the module of its entity type (`Message` subclass: its
fields, `send`, `delivered`, `rejected`), listed in `MESSAGE_TYPES`. Modules group the operations of
one entity type because they share their delivery handlers (a reschedule and a cancel are undone
alike).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync.outbox.messages.base import DeliveryEffects, Message, UndecodableMessage
from sync.outbox.messages.booking_webhooks import BookingWebhookMessage
from sync.outbox.messages.bookings import (
    BookingBefore,
    BookingCancelMessage,
    BookingCreateMessage,
    BookingRescheduleMessage,
)
from sync.outbox.messages.customers import CustomerMergeMessage, CustomerUpsertMessage, customer_details
from sync.outbox.messages.erasure import CustomerEraseMessage
from sync.outbox.messages.resources import ResourceShareMessage, ResourceUnshareMessage, ShareBefore
from sync.outbox.messages.stock import StockChangeMessage, stock_level_id

__all__ = [
    "MESSAGE_TYPES",
    "BookingBefore",
    "BookingCancelMessage",
    "BookingCreateMessage",
    "BookingRescheduleMessage",
    "BookingWebhookMessage",
    "CustomerEraseMessage",
    "CustomerMergeMessage",
    "CustomerUpsertMessage",
    "DeliveryEffects",
    "Message",
    "ResourceShareMessage",
    "ResourceUnshareMessage",
    "ShareBefore",
    "StockChangeMessage",
    "UndecodableMessage",
    "customer_details",
    "decode",
    "stock_level_id",
]

AnyMessage = Message[Any]

MESSAGE_TYPES: dict[str, type[AnyMessage]] = {
    message_type.op: message_type
    for message_type in (
        BookingCreateMessage,
        BookingRescheduleMessage,
        BookingCancelMessage,
        BookingWebhookMessage,
        CustomerUpsertMessage,
        CustomerMergeMessage,
        CustomerEraseMessage,
        ResourceShareMessage,
        ResourceUnshareMessage,
        StockChangeMessage,
    )
}


def decode(operation: str, payload: Mapping[str, Any]) -> AnyMessage:
    """The message a stored outbox row holds; `UndecodableMessage` when no type reads it."""
    message_type = MESSAGE_TYPES.get(operation)
    if message_type is None:
        known = ", ".join(sorted(MESSAGE_TYPES))
        raise UndecodableMessage(operation, f"no message type has this operation (known: {known})")
    return message_type.decode(payload)
