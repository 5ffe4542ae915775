"""docs/examples.md runs as written: every query, mutation and subscription on the page, verbatim, against a fresh
demo gateway as the network admin; no errors, and an answer with something in it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse
from live_helpers import wait_for
from ws_helpers import TRANSPORT_WS, GraphQLSocket

from conftest import RunningGateway

PAGE = Path(__file__).resolve().parent.parent / "docs" / "examples.md"
# A fenced graphql block, and the json block of its variables when one follows it with nothing but blank lines between.
BLOCK = re.compile(r"```graphql\n(?P<document>.*?)```(?:\s*```json\n(?P<variables>.*?)```)?", re.DOTALL)
# A variable's value taken from an earlier answer on the page: "<createBooking.booking.id>".
CHAINED = re.compile(r"^<(?P<path>[A-Za-z]+(?:\.[A-Za-z]+)+)>$")


@dataclass(frozen=True)
class Example:
    name: str
    kind: OperationType
    document: str
    variables: dict[str, Any]


def _examples() -> list[Example]:
    examples = []
    for block in BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        document = block["document"]
        [operation] = parse(document).definitions
        assert isinstance(operation, OperationDefinitionNode) and operation.name is not None, document
        variables = json.loads(block["variables"]) if block["variables"] else {}
        examples.append(Example(operation.name.value, operation.operation, document, variables))
    return examples


EXAMPLES = _examples()
QUERIES = [example for example in EXAMPLES if example.kind is OperationType.QUERY]
MUTATIONS = [example for example in EXAMPLES if example.kind is OperationType.MUTATION]
SUBSCRIPTIONS = [example for example in EXAMPLES if example.kind is OperationType.SUBSCRIPTION]


def _filled(value: Any, answers: dict[str, Any]) -> Any:
    """The variables with every chained value replaced by what the earlier answer has at its path."""
    if isinstance(value, dict):
        return {key: _filled(item, answers) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, answers) for item in value]
    chained = CHAINED.match(value) if isinstance(value, str) else None
    if chained is None:
        return value
    root, *path = chained["path"].split(".")
    found = answers[root]  # a KeyError here: the page chains a value from an operation it has not run yet
    for key in path:
        found = found[key]
    return found


def _empty_parts(value: Any, path: str) -> list[str]:
    """Where an answer has nothing: a null root field, an empty list at its top, a connection without nodes."""
    if value is None or value == [] or value == {}:
        return [path]
    if isinstance(value, dict):
        nested = [_empty_parts(item, f"{path}.{key}") for key, item in value.items() if key == "nodes"]
        return [empty for parts in nested for empty in parts]
    return []


def _assert_answered(example: Example, data: dict[str, Any]) -> None:
    assert data, example.name
    empty = [part for field, value in data.items() for part in _empty_parts(value, field)]
    assert empty == [], f"{example.name}: nothing in {empty}"
    for field, payload in data.items():
        if example.kind is OperationType.MUTATION and isinstance(payload, dict):
            assert payload.get("errors", []) == [], f"{example.name}: {payload['errors']}"
            failed = [outcome for outcome in payload.get("outcomes", []) if outcome["status"] == "FAILED"]
            assert failed == [], f"{example.name}: {field} failed at {failed}"


def test_the_page_has_queries_mutations_and_subscriptions_each_given_the_variables_it_declares() -> None:
    assert (len(QUERIES), len(MUTATIONS), len(SUBSCRIPTIONS)) >= (8, 5, 2)
    assert len({example.name for example in EXAMPLES}) == len(EXAMPLES)  # each is named for what it does
    for example in EXAMPLES:
        [operation] = parse(example.document).definitions
        assert isinstance(operation, OperationDefinitionNode)
        declared = {definition.variable.name.value for definition in operation.variable_definitions or ()}
        assert set(example.variables) == declared, example.name


@pytest.mark.parametrize("example", QUERIES, ids=[example.name for example in QUERIES])
def test_each_query_on_the_page_answers_the_network_admin_without_errors(
    live_gateway: RunningGateway, example: Example
) -> None:
    body = live_gateway.graphql(example.document, example.variables)
    assert "errors" not in body, body["errors"]
    _assert_answered(example, body["data"])


def test_the_page_s_mutations_run_in_order_and_each_subscription_hears_what_they_did(
    live_gateway: RunningGateway,
) -> None:
    bus = live_gateway.app.state.bus
    listening = bus.subscriber_count()
    with GraphQLSocket(live_gateway.url, TRANSPORT_WS, token=live_gateway.admin_token) as socket:
        operations = {example.name: socket.subscribe(example.document, example.variables) for example in SUBSCRIPTIONS}
        wait_for(lambda: bus.subscriber_count() == listening + len(SUBSCRIPTIONS), 5, "the page's subscriptions")

        answers: dict[str, Any] = {}
        for example in MUTATIONS:
            body = live_gateway.graphql(example.document, _filled(example.variables, answers))
            assert "errors" not in body, (example.name, body["errors"])
            _assert_answered(example, body["data"])
            answers.update(body["data"])

        for example in SUBSCRIPTIONS:
            event = socket.next(operations[example.name], seconds=10.0)
            _assert_answered(example, event)
