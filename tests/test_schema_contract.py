"""The schema documents itself, and unexpected failures never leak internals."""

from __future__ import annotations

import logging

import pytest
from graphql import GraphQLError
from strawberry.types import ExecutionResult

from conftest import RunningGateway
from schema.errors import translate_errors

INTROSPECTION = """
{
  __schema {
    types {
      name kind description
      fields { name description args { name description } }
      inputFields { name description }
      enumValues { name description }
    }
  }
}
"""

BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}
# The Federation and link specs' own types, which the `@link`ed specs define (and document) for every subgraph.
FEDERATION_SPEC = {"_FieldSet", "link__Import", "link__Purpose"}


def test_every_type_field_argument_and_enum_value_has_a_description(gateway: RunningGateway) -> None:
    types = gateway.graphql(INTROSPECTION)["data"]["__schema"]["types"]
    missing = []
    for graphql_type in types:
        name = graphql_type["name"]
        if name.startswith("__") or name in BUILT_IN or name in FEDERATION_SPEC:
            continue
        if not graphql_type["description"] and name != "Query":
            missing.append(name)
        for field in graphql_type["fields"] or []:
            if not field["description"]:
                missing.append(f"{name}.{field['name']}")
            missing += [f"{name}.{field['name']}({a['name']})" for a in field["args"] if not a["description"]]
        for field in graphql_type["inputFields"] or []:
            if not field["description"]:
                missing.append(f"{name}.{field['name']}")
        for value in graphql_type["enumValues"] or []:
            if not value["description"]:
                missing.append(f"{name}.{value['name']}")
    assert missing == []


def test_an_unexpected_exception_is_masked_with_a_request_id_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    class RequestContext:
        request_id = "req-123"

    leaked = GraphQLError(
        "boom", original_error=RuntimeError("password=hunter2 at db.internal:5432"), path=["bookings"]
    )
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        result = translate_errors(ExecutionResult(data=None, errors=[leaked]), RequestContext())
    assert result.errors is not None
    [error] = result.errors
    assert error.message == "Internal server error (request id req-123)"
    assert error.extensions == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-123"}
    assert "hunter2" not in str(error.formatted)
    assert "req-123" in caplog.text and "hunter2" in caplog.text
