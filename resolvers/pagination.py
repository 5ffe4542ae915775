"""Relay cursor pagination by keyset: cursors carry the sort values of the row they point at.

Keyset (not offset) pagination keeps pages stable while rows are inserted and keeps
deep pages as cheap as the first one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.engine import Row

from resolvers.bounds import CURSOR_LENGTH
from resolvers.errors import InvalidCursorError, InvalidInputError


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


@dataclass(frozen=True, slots=True)
class SortOrder:
    """An ordering over columns, the last of which must be unique (the tie-break)."""

    name: str
    columns: tuple[ColumnElement[Any], ...]
    descending: bool = False


@dataclass(slots=True)
class Page:
    rows: list[Row[Any]]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    return value


def encode_cursor(order: SortOrder, row: Row[Any]) -> str:
    values = [_encode_value(row._mapping[str(column.key)]) for column in order.columns]
    # Not ASCII-escaped: a name sorts with its own characters, and the compiled read path's SQL writes them so too.
    raw = json.dumps([order.name, values], separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(order: SortOrder, cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        decoded = [_decode_value(value) for value in values]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursorError(f"{cursor!r} is not a cursor this API issued", cursor=cursor) from error
    if name != order.name or len(decoded) != len(order.columns):
        raise InvalidCursorError(f"cursor {cursor!r} belongs to another sort order than {order.name}", cursor=cursor)
    return decoded


def beyond(order: SortOrder, values: Sequence[Any], forward: bool) -> ColumnElement[bool]:
    """Rows strictly after (forward) or before the cursor values in the sort order."""
    ascending = forward != order.descending
    clauses: list[ColumnElement[bool]] = []
    for index, column in enumerate(order.columns):
        equal_prefix = [order.columns[i] == values[i] for i in range(index)]
        step = column > values[index] if ascending else column < values[index]
        clauses.append(and_(*equal_prefix, step))
    return or_(*clauses)


def validate_page_args(args: PageArgs, default_size: int, max_size: int) -> tuple[int, bool]:
    """The page size, and whether the page is counted backwards from `before`/the end."""
    if args.first is not None and args.last is not None:
        raise InvalidInputError("pass either `first` or `last`, not both", field="last")
    for field, cursor in (("after", args.after), ("before", args.before)):
        if cursor is not None and len(cursor) > CURSOR_LENGTH:
            raise InvalidInputError(f"`{field}` is longer than any cursor this API issues", field=field)
    field = "last" if args.last is not None else "first"
    size = args.last if args.last is not None else args.first
    if size is None:
        size = default_size
    if size < 0 or size > max_size:
        raise InvalidInputError(f"page size must be between 0 and {max_size}, got {size}", size=size, field=field)
    return size, args.last is not None or (args.before is not None and args.first is None)


def keyset_window(
    statement: Select[Any], order: SortOrder, args: PageArgs, default_size: int, max_size: int
) -> tuple[Select[Any], list[Any], int, bool]:
    """The statement limited to rows beyond the cursors, the ordering to read them in, page size, direction."""
    size, backward = validate_page_args(args, default_size, max_size)
    if args.after is not None:
        statement = statement.where(beyond(order, decode_cursor(order, args.after), forward=True))
    if args.before is not None:
        statement = statement.where(beyond(order, decode_cursor(order, args.before), forward=False))
    ascending = backward == order.descending
    ordering = [c.asc() if ascending else c.desc() for c in order.columns]
    return statement, ordering, size, backward


def paginate(
    statement: Select[Any], order: SortOrder, args: PageArgs, default_size: int, max_size: int
) -> tuple[Select[Any], int, bool]:
    """The statement for one page (fetching one row more to tell whether there is another)."""
    statement, ordering, size, backward = keyset_window(statement, order, args, default_size, max_size)
    return statement.order_by(*ordering).limit(size + 1), size, backward


def build_page(rows: Sequence[Row[Any]], order: SortOrder, args: PageArgs, size: int, backward: bool) -> Page:
    has_more = len(rows) > size
    page_rows = list(rows[:size])
    if backward:
        page_rows.reverse()
    return Page(
        rows=page_rows,
        cursors=[encode_cursor(order, row) for row in page_rows],
        has_next_page=has_more if not backward else args.before is not None,
        has_previous_page=has_more if backward else args.after is not None,
    )
