"""The OpenAPI 3.1 document of every shim, built from the same Endpoint descriptions and pydantic models that
route and validate the requests, so the document says what the endpoints do."""

from __future__ import annotations

import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shims.common.endpoint import ALWAYS_DOCUMENTED, Endpoint

REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_PARAMETER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}")
DEFAULT_PATH_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 64}


class _GraphQLError(BaseModel):
    message: str
    extensions: dict[str, Any]


class PayloadTooLarge(BaseModel):
    """What the app's body limit answers on every route, before any shim runs (server_limits)."""

    errors: list[_GraphQLError]


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def _openapi_path(path: str) -> str:
    return _PATH_PARAMETER.sub(lambda match: "{" + match.group(1) + "}", path)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
    required = set(schema.get("required", []))
    # Definitions the fields refer to (enums) live with the components.
    schemas.update(schema.get("$defs", {}))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema.get("properties", {}).items()
    ]


def openapi_document(endpoints: Sequence[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for endpoint in endpoints:
        if endpoint.request_model is not None:
            models.append((endpoint.request_model, "validation"))
        if endpoint.response_model is not None:
            models.append((endpoint.response_model, "serialization"))
        models.append((endpoint.errors.model, "serialization"))
    models.append((PayloadTooLarge, "serialization"))
    unique = list(dict.fromkeys(models))
    keys, definitions = models_json_schema(unique, ref_template=REF_TEMPLATE)
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))

    def ref_of(model: type[BaseModel], mode: Literal["validation", "serialization"]) -> dict[str, Any]:
        return dict(keys[(model, mode)])

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "operationId": f"{endpoint.tag}_{endpoint.method.lower()}_{_openapi_path(endpoint.path)}".replace("/", "_")
            .replace("{", "")
            .replace("}", "")
            .replace("-", "_"),
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
        }
        if endpoint.description:
            operation["description"] = endpoint.description
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": endpoint.path_schemas.get(name, DEFAULT_PATH_SCHEMA),
            }
            for name in _PATH_PARAMETER.findall(endpoint.path)
        ]
        if endpoint.query_model is not None:
            parameters += _query_parameters(endpoint.query_model, schemas)
        parameters += [
            {
                "name": name,
                "in": "header",
                "required": doc.required,
                "description": doc.description,
                "schema": {"type": "string", "maxLength": 512},
            }
            for name, doc in endpoint.headers.items()
        ]
        if parameters:
            operation["parameters"] = parameters
        if endpoint.request_model is not None:
            operation["requestBody"] = {
                "required": endpoint.body_required,
                "content": {"application/json": {"schema": ref_of(endpoint.request_model, "validation")}},
            }
        success: dict[str, Any] = {"description": HTTPStatus(endpoint.success_status).phrase}
        if endpoint.response_model is not None:
            success["content"] = {"application/json": {"schema": ref_of(endpoint.response_model, "serialization")}}
        responses: dict[str, Any] = {str(endpoint.success_status): success}
        error_schema = ref_of(endpoint.errors.model, "serialization")
        statuses = {status: HTTPStatus(status).phrase for status in ALWAYS_DOCUMENTED} | dict(endpoint.refusals)
        for status, why in sorted(statuses.items()):
            schema = error_schema
            if status == 413:
                too_large = ref_of(PayloadTooLarge, "serialization")
                # The app's body limit answers first; an endpoint with a lower limit of its own answers in its shape.
                schema = {"anyOf": [too_large, error_schema]} if 413 in endpoint.refusals else too_large
            responses[str(status)] = {"description": why, "content": {"application/json": {"schema": schema}}}
        operation["responses"] = responses
        if endpoint.security:
            operation["security"] = [{name: []} for name in endpoint.security]
        paths.setdefault(_openapi_path(endpoint.path), {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }
