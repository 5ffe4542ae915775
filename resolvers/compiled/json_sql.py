"""JSON built by the database: the few SQL shapes the compiled read path needs, one class per dialect.

Every value is rendered exactly as the ordinary execution would serialise it (global ids, ISO 8601
instants, exact decimal amounts, enum names). Where SQL cannot promise that for a stored value (an instant
stored in another format, a non-ASCII key inside a cursor) the expression yields `MISSING_MARK`, and so does a
relation a non-null field needs that the row scope hides: the executor then answers the request the ordinary
way, which raises the same errors it always did.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Integer, String, Text, and_, case, cast, func, literal, literal_column, null, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from sources.cache.money import currency_exponent

# A JSON string no answer contains: its presence in the statement's JSON sends the request the ordinary way.
MISSING_MARK = "gateway.compiled.missing.5f0c9e2a"
MISSING_BYTES = MISSING_MARK.encode()
_EXPONENT_CURRENCIES = ("JPY", "KRW", "ISK", "BHD", "KWD", "JOD", "OMR", "TND")


class JsonSql(Protocol):
    """SQL expressions producing JSON for one dialect."""

    def object(self, pairs: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]: ...

    def nested(self, statement: Select[Any]) -> ColumnElement[Any]:
        """A scalar subquery of one JSON column, embedded as JSON (NULL when it has no row)."""
        ...

    def array(self, statement: Select[Any], element: str, order: Sequence[tuple[str, bool]]) -> ColumnElement[Any]:
        """The JSON values of column `element` of `statement`'s rows as an array ([] for none), ordered by its
        columns named in `order` (name, descending)."""
        ...

    def required(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """The JSON value, or MISSING_MARK where it is NULL."""
        ...

    def scalar(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A plain SQL value (text, number, NULL) as the JSON value `object` takes."""
        ...

    def null(self) -> ColumnElement[Any]:
        """JSON null, as `object` takes it."""
        ...

    def nullable(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """A JSON value that may be SQL NULL (a subquery with no row), as `object` takes it: null there."""
        ...

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]: ...

    def instant(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """datetime.isoformat() of a UTCDateTime column (NULL stays NULL)."""
        ...

    def cursor(self, name: str, values: Sequence[tuple[ColumnElement[Any], bool]]) -> ColumnElement[Any]:
        """resolvers.pagination.encode_cursor of a row: the sort name and its sort values (instant or not)."""
        ...

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        """The JSON as text, as the driver should hand it over (not decoded)."""
        ...


def _concat(*parts: ColumnElement[Any] | str) -> ColumnElement[Any]:
    elements = [literal(part, String) if isinstance(part, str) else part for part in parts]
    result = elements[0]
    for element in elements[1:]:
        result = result.concat(element)
    return result


def decimal_text(minor: ColumnElement[Any], exponent: int) -> ColumnElement[Any]:
    """str(Decimal(minor).scaleb(-exponent)) for an integer column: '45.50', '-0.05', '4550'."""
    if exponent == 0:
        return cast(minor, Text)
    scale = 10**exponent
    magnitude = func.abs(minor)
    whole = cast(magnitude // scale, Text)  # floor division in SQLAlchemy 2 (`/` is true division)
    fraction = func.substr(cast(magnitude % scale + scale, Text), 2)  # zero-padded: 5 -> '05'
    sign = case((minor < 0, literal("-", String)), else_=literal("", String))
    return _concat(sign, whole, ".", fraction)


def money_amount(minor: ColumnElement[Any], currency: ColumnElement[Any]) -> ColumnElement[Any]:
    """The Money.amount of minor units in their currency (sources/cache/money.py's exponents)."""
    exceptions = [(currency == code, decimal_text(minor, currency_exponent(code))) for code in _EXPONENT_CURRENCIES]
    return case(*exceptions, else_=decimal_text(minor, 2))


def global_id(type_name: str, key: ColumnElement[Any]) -> ColumnElement[Any]:
    return _concat(f"{type_name}:", key)


def enum_name(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """The GraphQL name of an enum stored as its lower-case value (checked by the planner per enum)."""
    return func.upper(column)


class SqliteJson:
    """SQLite: the JSON written as text. Its JSON1 functions would parse every nested object and array again
    where it crosses a subquery (json() restores the subtype a subquery loses), so values are quoted with
    json_quote and objects and arrays concatenated instead: each byte of the answer is written once."""

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return value

    def scalar(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.json_quote(value)  # strings quoted and escaped, numbers as they are, NULL as null

    def null(self) -> ColumnElement[Any]:
        return _sql_text("null")

    def nullable(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(value, _sql_text("null"))  # a NULL would make the whole concatenation NULL

    def object(self, pairs: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        parts: list[ColumnElement[Any] | str] = []
        for index, (key, value) in enumerate(pairs):
            parts.append(("{" if index == 0 else ",") + json.dumps(key) + ":")
            parts.append(value)
        parts.append("}" if pairs else "{}")
        return _concat(*parts)

    def nested(self, statement: Select[Any]) -> ColumnElement[Any]:
        return statement.scalar_subquery()

    def array(self, statement: Select[Any], element: str, order: Sequence[tuple[str, bool]]) -> ColumnElement[Any]:
        # SQLite 3.40 has no ORDER BY inside aggregates; it aggregates an ordered subquery in its order.
        rows = statement.order_by(*_ordering(statement.selected_columns, order)).subquery()
        joined = select_of(func.group_concat(rows.c[element], _sql_text(","))).select_from(rows).scalar_subquery()
        return _concat("[", func.coalesce(joined, _sql_text("")), "]")

    def required(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(value, _sql_text(json.dumps(MISSING_MARK)))

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return case((condition, _sql_text("true")), else_=_sql_text("false"))

    def instant(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.json_quote(self._iso(column))

    def _iso(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (sources/cache/types.py); isoformat drops zero microseconds.
        text = type_coerce(column, String)
        seconds = _concat(func.substr(text, 1, 10), "T", func.substr(text, 12, 8))
        iso = case(
            (func.substr(text, 21) == "000000", _concat(seconds, "+00:00")),
            else_=_concat(seconds, ".", func.substr(text, 21), "+00:00"),
        )
        well_formed = (func.length(text) == 26) & (func.substr(text, 11, 1) == " ")
        return case((column.is_(None), null()), (well_formed, iso), else_=_sql_text(MISSING_MARK))

    def cursor(self, name: str, values: Sequence[tuple[ColumnElement[Any], bool]]) -> ColumnElement[Any]:
        items = [func.json_object(_sql_text("t"), self._iso(v)) if is_instant else v for v, is_instant in values]
        # gateway_cursor (registered on every SQLite connection: sources/cache/database.py) is base64url of the
        # JSON text, as json.dumps writes it.
        encoded = func.gateway_cursor(func.json_array(_sql_text(name), func.json_array(*items)))
        return _concat('"', encoded, '"')  # base64url needs no escaping


def _sql_text(value: str) -> ColumnElement[Any]:
    """A string constant written into the statement (not a parameter: the statement's shape is its cache key)."""
    return literal_column("'" + value.replace("'", "''") + "'", String)


class PostgresJson:
    """PostgreSQL: json_build_object / json_agg."""

    def scalar(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return value  # json_build_object encodes its values

    def null(self) -> ColumnElement[Any]:
        return null()

    def nullable(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return value

    def text(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return cast(value, Text)  # asyncpg would otherwise decode the json into Python objects

    def object(self, pairs: Sequence[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
        arguments: list[Any] = []
        for key, value in pairs:
            arguments.extend((literal_column(_pg_string(key)), value))
        return func.json_build_object(*arguments)

    def nested(self, statement: Select[Any]) -> ColumnElement[Any]:
        return statement.scalar_subquery()

    def array(self, statement: Select[Any], element: str, order: Sequence[tuple[str, bool]]) -> ColumnElement[Any]:
        rows = statement.subquery()
        ordered = aggregate_order_by_(rows.c[element], _ordering(rows.c, order))
        aggregated = func.coalesce(func.json_agg(ordered), literal_column("'[]'::json"))
        return select_of(aggregated).select_from(rows).scalar_subquery()

    def required(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(value, func.to_json(literal(MISSING_MARK, String)))

    def boolean(self, condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return condition

    def instant(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        utc = func.timezone(literal("UTC", String), column)
        seconds = func.to_char(utc, literal('YYYY-MM-DD"T"HH24:MI:SS', String))
        micro = func.to_char(utc, literal(".US", String))
        return _concat(seconds, case((micro == ".000000", literal("", String)), else_=micro), "+00:00")

    def cursor(self, name: str, values: Sequence[tuple[ColumnElement[Any], bool]]) -> ColumnElement[Any]:
        parts: list[ColumnElement[Any] | str] = [f'["{name}",[']
        # No '"', no '\' and no control character: json.dumps (ensure_ascii off) writes such text as it is.
        plain: ColumnElement[Any] = literal_column(r"""'^[^"\\\x01-\x1f]*$'""")
        guards: list[ColumnElement[bool]] = []
        for index, (value, is_instant) in enumerate(values):
            if index:
                parts.append(",")
            if is_instant:
                parts.extend(('{"t":"', self.instant(value), '"}'))
            elif isinstance(value.type, Integer):
                parts.append(cast(value, Text))
            else:
                guards.append(cast(value, Text).op("~", is_comparison=True)(plain))
                parts.extend(('"', cast(value, Text), '"'))
        parts.append("]]")
        raw = func.convert_to(_concat(*parts), literal("UTF8", String))
        encoded = func.rtrim(func.translate(func.encode(raw, literal("base64", String)), "+/\n", "-_"), "=")
        if not guards:
            return encoded
        return case((and_(*guards), encoded), else_=literal(MISSING_MARK, String))


def _pg_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'::text"


def _ordering(columns: Any, order: Sequence[tuple[str, bool]]) -> list[Any]:
    return [columns[name].desc() if descending else columns[name].asc() for name, descending in order]


def select_of(*columns: ColumnElement[Any]) -> Select[Any]:
    return select(*columns)


def aggregate_order_by_(element: ColumnElement[Any], order: Sequence[Any]) -> ColumnElement[Any]:
    if not order:
        return element
    return aggregate_order_by(element, *order)


def json_sql_for(dialect_name: str) -> JsonSql:
    return PostgresJson() if dialect_name == "postgresql" else SqliteJson()
