"""What every outbox message is: a frozen dataclass per operation, one codec for all of them.

A message is built once, by whoever decides the write (a resolver command, propagation, a
rollback), and stored as the JSON `encode` makes of its fields: the field names are the JSON
keys, times are ISO strings, nested records are objects. `decode` reads that JSON back into the
message type its operation names, and says clearly what is wrong with a row it cannot read.

Delivery asks the message itself: `prepare` reads what may have changed since it was queued,
`send` talks to the location only (no database), and `delivered` / `rejected` run inside one
cache transaction with the row's status change, returning what subscribers must hear. The answers of a
write fanned out to several locations are recorded together: `delivered_all`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from sources.cache.models import CustomerMapping
from sources.cache.revenue import SplitRules
from sources.connectors.base import Connector
from sources.connectors.errors import UpstreamRejected
from sources.connectors.records import RecordType
from sync.events import DomainEvent

AckT = TypeVar("AckT")
# Fields a message carries only on its way out (the version the gateway last agreed, read at send time).
SEND_TIME_FIELDS = frozenset({"expected_version"})


@dataclasses.dataclass(frozen=True, slots=True)
class DeliveryEffects:
    """What a delivery's cache change means for subscribers, once committed."""

    events: tuple[DomainEvent, ...] = ()
    # The location changed the record since the gateway last saw it: pull from it to settle the clash.
    resync_location_id: str | None = None


class UndecodableMessage(ValueError):
    """A stored outbox row that no message type can read (an unknown operation, or a missing field)."""

    def __init__(self, operation: str, problem: str) -> None:
        super().__init__(f"outbox operation {operation!r}: {problem}")
        self.operation = operation
        self.problem = problem


class Message(ABC, Generic[AckT]):
    """One write to one location. Subclasses are frozen dataclasses named for their operation."""

    __slots__ = ()
    op: ClassVar[str]  # the operation the outbox row names, e.g. "booking.create"
    entity_type: ClassVar[RecordType]  # the record the write is about (the row's entity_type)

    @abstractmethod
    def entity_id(self, location_id: str) -> str:
        """The id of the record the write is about, as the outbox row stores it."""

    def encode(self) -> dict[str, Any]:
        return {
            field.name: encode_value(getattr(self, field.name))
            for field in dataclasses.fields(self)  # type: ignore[arg-type]
            if field.name not in SEND_TIME_FIELDS
        }

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> Self:
        message: Self = decode_fields(cls, data)
        return message

    def expects_version(self) -> bool:
        """Whether the location should refuse the write if its record moved on (see `expecting`)."""
        return False

    def expecting(self, version: int) -> Self:
        raise TypeError(f"{self.op} does not carry a version")

    async def prepare(self, session: AsyncSession) -> Self:
        """The message as it goes out now (a booking's local id may have arrived since it was queued)."""
        return self

    @abstractmethod
    async def send(self, connector: Connector, key: str) -> AckT: ...

    @abstractmethod
    async def delivered(
        self, session: AsyncSession, location_id: str, ack: AckT, split: SplitRules
    ) -> DeliveryEffects: ...

    @classmethod
    async def delivered_all(
        cls, session: AsyncSession, deliveries: Sequence[tuple[Self, str, AckT]], split: SplitRules
    ) -> list[DeliveryEffects]:
        """`delivered` for several messages of this type (message, location id, ack), each to another
        location, in one transaction: a type whose handler reads rows overrides it to read them for all
        at once."""
        return [await message.delivered(session, location_id, ack, split) for message, location_id, ack in deliveries]

    @abstractmethod
    async def rejected(self, session: AsyncSession, location_id: str, error: UpstreamRejected) -> DeliveryEffects: ...


# -- the codec ---------------------------------------------------------------------------------
def encode_value(value: Any) -> Any:
    """A field value as JSON holds it."""
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: encode_value(getattr(value, field.name)) for field in dataclasses.fields(value)}
    return value


def decode_fields(cls: type[Any], data: Mapping[str, Any]) -> Any:
    """A message (or a record inside one) from its JSON; `UndecodableMessage` says what does not fit."""
    return _decode_record(cls, data, getattr(cls, "op", cls.__name__))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _decode_record(cls: type[Any], data: Any, operation: str) -> Any:
    if not isinstance(data, Mapping):
        raise UndecodableMessage(operation, f"{cls.__name__} is not an object: {data!r:.80}")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        if field.name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise UndecodableMessage(operation, f"{cls.__name__} lacks `{field.name}`")
            continue
        values[field.name] = _decode_value(hints[field.name], data[field.name], operation, field.name)
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise UndecodableMessage(operation, str(error)) from None


def _decode_value(hint: Any, value: Any, operation: str, name: str) -> Any:
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if value is None:
            return None
        hint = options[0] if len(options) == 1 else Any
    if hint is datetime:
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise UndecodableMessage(operation, f"`{name}` is not an ISO time: {value!r:.80}") from None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_record(hint, value, operation)
    expected = typing.get_origin(hint) or hint
    if expected in (str, int, bool, dict, list) and not (
        isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    ):
        raise UndecodableMessage(operation, f"`{name}` should be {expected.__name__}, not {value!r:.80}")
    return value


def new_mapping(customer_id: str, location_id: str, local_customer_id: str) -> CustomerMapping:
    """The mapping a location's answer names for a customer it did not know: no loyalty points there yet."""
    return CustomerMapping(
        customer_id=customer_id, location_id=location_id, local_customer_id=local_customer_id, loyalty_points=0
    )
