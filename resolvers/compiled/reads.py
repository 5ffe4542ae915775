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
from resolvers.compiled.building import Build, Site
from resolvers.compiled.connections import BackwardPage, ConnectionQuery, connection_json, cursor_parameters, window_of
from resolvers.compiled.driver import fetch_row
from resolvers.compiled.entities import BOOKING, CUSTOMER
from resolvers.compiled.json_sql import MISSING_BYTES, json_sql_for
from resolvers.compiled.selection import Selection
from resolvers.context import Context
from resolvers.customers.queries import CUSTOMER_ORDER, CustomerFilter, filtered_customers
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
class PageRequest:
    """A connection's page arguments as the request gives them (`sort` only where the field has one)."""

    first: int | None = None
    after: str | None = None
    sort: BookingSort | None = None


@dataclass(frozen=True, slots=True)
class RootRequest:
    """A compiled root field: which list, its selection and its page."""

    field: str
    selection: Selection
    page: PageRequest


def _root_query(context: Context, root: RootRequest) -> ConnectionQuery:
    """The list a root field reads, with its node fields and order."""
    settings = context.settings
    args = PageArgs(first=root.page.first, after=root.page.after)
    if root.field == "customers":
        statement, order, fields = filtered_customers(context.scope, CustomerFilter()), CUSTOMER_ORDER, CUSTOMER
    else:
        statement = filtered_bookings(context.scope, BookingFilter())
        order, fields = BOOKING_SORT_ORDERS[root.page.sort or BookingSort.START_AT_ASC], BOOKING
    return ConnectionQuery(statement, order, fields, args, settings.default_page_size, settings.max_page_size)


def _site_query(context: Context, page: PageRequest) -> ConnectionQuery:
    """A nested connection (Customer.bookings, newest first by default), for checking its page arguments."""
    settings = context.settings
    order = BOOKING_SORT_ORDERS[page.sort or BookingSort.START_AT_DESC]
    args = PageArgs(first=page.first, after=page.after)
    statement = filtered_bookings(context.scope, BookingFilter())
    return ConnectionQuery(statement, order, BOOKING, args, settings.default_page_size, settings.max_page_size)


@dataclass(frozen=True, slots=True)
class Prepared:
    """An operation's compiled roots checked for this request: the shape its statement depends on, how to build
    the roots' expressions, and the parameter values this request gives them."""

    key: Hashable
    build: Callable[[], list[ColumnElement[Any]]]
    parameters: dict[str, Any]


def prepare(context: Context, roots: Sequence[RootRequest], sites: Sequence[PageRequest]) -> Prepared | None:
    """The roots and nested pages checked as the ordinary path checks them; None when that path must answer
    (it raises the errors)."""
    try:
        queries = [_root_query(context, root) for root in roots]
        windows = [window_of(query) for query in queries]
        site_queries = [_site_query(context, page) for page in sites]
        site_windows = [window_of(query) for query in site_queries]
    except (GatewayError, BackwardPage):
        return None
    dialect = context.engine.dialect.name
    scope = context.scope
    parameters: dict[str, Any] = {}
    for index, window in enumerate(windows):
        parameters.update(cursor_parameters(f"r{index}", window))
    for index, window in enumerate(site_windows):
        parameters.update(cursor_parameters(f"s{index}", window))
    key = (
        dialect,
        scope,
        tuple((query.order.name, window.shape) for query, window in zip(queries, windows, strict=True)),
        tuple((query.order.name, window.shape) for query, window in zip(site_queries, site_windows, strict=True)),
    )

    def build() -> list[ColumnElement[Any]]:
        json = json_sql_for(dialect)
        pages = [
            Site(query.order, window, f"s{index}")
            for index, (query, window) in enumerate(zip(site_queries, site_windows, strict=True))
        ]
        built = Build(json=json, scope=scope, sites=pages)
        return [
            json.text(connection_json(built, query, root.selection, window, f"r{index}"))
            for index, (root, query, window) in enumerate(zip(roots, queries, windows, strict=True))
        ]

    return Prepared(key, build, parameters)


async def read_json(context: Context, prepared: Prepared, statements: StatementCache) -> list[bytes] | None:
    """Each root's JSON, from one statement; None when a value could not be built exactly."""
    dialect = context.engine.dialect
    statement = statements.get(prepared.key)
    if statement is None:
        built = select(*(root.label(f"root_{index}") for index, root in enumerate(prepared.build())))
        statement = DriverStatement.of(built, dialect)
        statements.put(prepared.key, statement)
    row = await fetch_row(
        context.single_reads, context.engine, statement.sql, statement.parameters(prepared.parameters)
    )
    answers = [str(value).encode() for value in row]
    if any(MISSING_BYTES in answer for answer in answers):
        return None
    return answers
