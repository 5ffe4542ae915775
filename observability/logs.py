"""The gateway's log output: one JSON object per line per event, or plain text for a terminal.

Every record is stamped with the request it belongs to (observability.requests: request id, principal subject,
GraphQL operation name) by a filter on the one handler, so the lines of uvicorn, SQLAlchemy, httpx and the
gateway's own loggers all carry the same id the client got back in `X-Request-ID`.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from observability.requests import current_request

LogFormat = Literal["json", "text"]

# uvicorn's own loggers: they log through the root handler instead of the handlers uvicorn's default
# dictConfig would give them (and which any later uvicorn.Config in the process would replace).
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# What a LogRecord has by itself; anything else on a record came from `extra=` and is written as a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "subject",
    "operation",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


def default_format(stream: TextIO) -> LogFormat:
    """Text for a person at a terminal, JSON for whatever collects the output of a service (not a TTY)."""
    return "text" if stream.isatty() else "json"


class RequestStamp(logging.Filter):
    """Adds the current request's id, principal subject and operation name (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request()
        record.request_id = request.request_id if request else None
        record.subject = request.subject if request else None
        record.operation = request.operation if request else None
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLines(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, the request's fields where known, the
    `extra=` fields, and an exception as a field (never a multi-line traceback outside the object)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "subject", "operation"):
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            kind, error, trace = record.exc_info
            entry["exception"] = {
                "type": kind.__name__,
                "message": str(error),
                "traceback": "".join(traceback.format_exception(kind, error, trace)),
            }
        elif record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, default=str, ensure_ascii=False)


class PlainText(logging.Formatter):
    """`time LEVEL logger [request id, subject, operation]: message`, exceptions as the usual traceback below."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        known = [getattr(record, name, None) for name in ("request_id", "subject", "operation")]
        record.request = f" [{' '.join(value for value in known if value)}]" if any(known) else ""
        return super().format(record)


def configure_logging(log_format: LogFormat, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every logger's records to one stderr handler in the chosen format (the process's one logging setup,
    made by the command line before it serves; uvicorn is then started with `log_config=None`)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines() if log_format == "json" else PlainText())
    handler.addFilter(RequestStamp())
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
