"""Running compiled root fields: one statement for all of them, its JSON handed back as bytes.

Building a statement costs more than running it (thousands of SQLAlchemy elements; even a hit in SQLAlchemy's
compiled cache hashes a key as large, and binds every constant again), so each operation keeps its statements
compiled, per shape: the caller's row scope, the sort, the page size and whether an `after` cursor is given.
The cursor's values are the only parameters bound per request; the text goes to the driver as it is.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from resolvers.bookings.queries import BookingFilter, filtered_bookings
from resolvers.bookings.vocabulary import BOOKING_SORT_ORDERS, BookingSort
from resolvers.compiled.connections import BackwardPage, ConnectionQuery, connection_json, cursor_parameters, window_of
from resolvers.compiled.driver import fetch_row
from resolvers.compiled.entities import BOOKING, Build
from resolvers.compiled.json_sql import MISSING_BYTES, json_sql_for
from resolvers.compiled.selection import Selection
from resolvers.context import Context
from resolvers.errors import GatewayError
from resolvers.pagination import PageArgs

STATEMENTS_PER_PLAN = 64


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled once for the engine's dialect: its SQL text, the values of its constant parameters
    (bound and processed, in position order), and where each per-request parameter goes."""

    sql: str
    values: tuple[Any, ...]
    slots: Mapping[str, tuple[int, Callable[[Any], Any] | None]]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> DriverStatement:
        # Expanding IN-lists (the row scope's locations) are rendered: the scope is part of the statement's shape.
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        names = compiled.positiontup or []
        given = compiled.construct_params()
        values: list[Any] = []
        slots: dict[str, tuple[int, Callable[[Any], Any] | None]] = {}
        for position, name in enumerate(names):
            bound = compiled.binds.get(name)
            process = None if bound is None else bound.type.dialect_impl(dialect).bind_processor(dialect)
            value = given[name]
            values.append(process(value) if process is not None and value is not None else value)
            slots[name] = (position, process)
        return cls(str(compiled), tuple(values), slots)

    def parameters(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        if not given:
            return self.values
        values = list(self.values)
        for name, value in given.items():
            position, process = self.slots[name]
            values[position] = process(value) if process is not None and value is not None else value
        return tuple(values)


@dataclass(eq=False)
class StatementCache:
    """An operation's compiled statements by shape, the least recently used dropped beyond `size`."""

    size: int = STATEMENTS_PER_PLAN
    _entries: OrderedDict[Hashable, DriverStatement] = field(default_factory=OrderedDict)

    def get(self, key: Hashable) -> DriverStatement | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, statement: DriverStatement) -> None:
        self._entries[key] = statement
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class BookingsRoot:
    """`bookings(sort:, first:, after:)` without a filter or a backward page."""

    selection: Selection
    sort: BookingSort
    first: int | None
    after: str | None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A root field checked for this request: the shape its expression depends on, how to build that
    expression, and the parameter values this request gives it."""

    key: Hashable
    build: Callable[[], ColumnElement[Any]]
    parameters: dict[str, Any]


def prepare_bookings(context: Context, root: BookingsRoot, prefix: str) -> Prepared | None:
    """The root field checked as the ordinary path checks it; None when that path must answer (it raises)."""
    settings = context.settings
    query = ConnectionQuery(
        statement=filtered_bookings(context.scope, BookingFilter()),
        order=BOOKING_SORT_ORDERS[root.sort],
        node_fields=BOOKING,
        args=PageArgs(first=root.first, after=root.after),
        default_size=settings.default_page_size,
        max_size=settings.max_page_size,
    )
    try:
        window = window_of(query)
    except (GatewayError, BackwardPage):
        return None
    dialect = context.engine.dialect.name
    scope = context.scope

    def build() -> ColumnElement[Any]:
        json = json_sql_for(dialect)
        return json.text(connection_json(Build(json=json, scope=scope), query, root.selection, window, prefix))

    return Prepared((dialect, scope, root.sort, window.shape, prefix), build, cursor_parameters(prefix, window))


async def read_json(context: Context, roots: Sequence[Prepared], statements: StatementCache) -> list[bytes] | None:
    """Each root's JSON, from one statement; None when a value could not be built exactly."""
    dialect = context.engine.dialect
    key = (dialect.name, *(root.key for root in roots))
    statement = statements.get(key)
    if statement is None:
        built = select(*(root.build().label(f"root_{index}") for index, root in enumerate(roots)))
        statement = DriverStatement.of(built, dialect)
        statements.put(key, statement)
    given = {name: value for root in roots for name, value in root.parameters.items()}
    reads = context.single_reads or context.engine
    row = await fetch_row(reads, context.engine, statement.sql, statement.parameters(given))
    answers = [str(value).encode() for value in row]
    if any(MISSING_BYTES in answer for answer in answers):
        return None
    return answers
