"""Request bodies and query strings, validated by the endpoint's pydantic models; a failure is a Refusal
naming each field that is wrong, in the code the spec uses for it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from shims.common.refusal import Refusal

Model = TypeVar("Model", bound=BaseModel)
PROBLEMS_SHOWN = 10


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def problems_of(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
        for problem in error.errors()[:PROBLEMS_SHOWN]
    )


def json_body(raw: bytes, *, status: int = 400, code: str = "INVALID_PAYLOAD") -> Any:
    """The body as JSON, numbers with a fraction as exact Decimals (an amount never passes through a float)."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise Refusal(status, code, "the body is not JSON") from None


def _nul_at(value: Any, path: str) -> str | None:
    """Where a string holds NUL, which no field takes (PostgreSQL cannot store it), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return path or "body"
        found = _nul_at(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def validated(model: type[Model], value: Any, *, status: int = 400, code: str = "INVALID_PAYLOAD") -> Model:
    nul = _nul_at(value, "")
    if nul is not None:
        raise Refusal(status, code, f"{nul or 'body'}: a NUL character is not allowed")
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise Refusal(status, code, problems_of(error)) from None


async def parse_body(
    request: Request, model: type[Model], *, status: int = 400, code: str = "INVALID_PAYLOAD"
) -> Model:
    """The request's JSON body as `model` (the size limit was enforced before the route ran)."""
    return validated(model, json_body(await request.body(), status=status, code=code), status=status, code=code)


def parse_query(request: Request, model: type[Model], *, status: int = 400, code: str = "INVALID_PAYLOAD") -> Model:
    """The query string as `model`: a name given twice is a list (for list fields), else the last value."""
    values: dict[str, Any] = {}
    for name in request.query_params:
        given = request.query_params.getlist(name)
        field = model.model_fields.get(name)
        is_list = field is not None and getattr(field.annotation, "__origin__", None) is list
        values[name] = given if is_list else given[-1]
    return validated(model, values, status=status, code=code)
