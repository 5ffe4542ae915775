"""The REST shims against their own OpenAPI document: schemathesis generates requests from /openapi.json
(valid ones and broken ones) and every answer must be what the document says — no 5xx, no status it does not
list, no body that contradicts its schema — as a network admin and as a OneBooking website would call."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import RunningGateway, start_gateway, stop_gateway
from settings import Settings
from shims.common.openapi import openapi_document
from shims.routes import API_VERSION, OPENAPI_PATH, shim_endpoints

DEMO_WEBSITE = "salford-quays"  # the embedded demo's OneBooking website
# Not negative_data_rejection: the fixed credentials below make every "missing Authorization" case a valid
# one, and unknown query parameters are ignored, as HTTP APIs commonly do.
# Bounded for CI: raise it locally (GATEWAY_FUZZ_EXAMPLES=500) to look harder.
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(
    openapi_document(shim_endpoints(), title="Booking network gateway: REST shims", version=API_VERSION)
)


@pytest.fixture(scope="module")
def fuzzed_gateway(own_database_url: str) -> Iterator[RunningGateway]:
    """A demo gateway of its own: the fuzzer's writes must not reach the other modules' shared gateway."""
    running = start_gateway(
        Settings(database_url=own_database_url, demo_network=True, sync_scheduler=False, rate_limits={})
    )
    try:
        yield running
    finally:
        stop_gateway(running)


@pytest.fixture(scope="module")
def caller_headers(fuzzed_gateway: RunningGateway) -> dict[str, str]:
    """An admin's token and a OneBooking website's key: generated requests get past authentication."""
    website = fuzzed_gateway.demo_credentials()[DEMO_WEBSITE]["inbound_api_key"]
    return {**fuzzed_gateway.headers, "X-API-Key": website}


def test_the_served_document_is_the_one_fuzzed(fuzzed_gateway: RunningGateway) -> None:
    served = httpx.get(f"{fuzzed_gateway.url}{OPENAPI_PATH}", timeout=30)
    assert served.status_code == 200
    document: dict[str, Any] = served.json()
    assert document["openapi"].startswith("3.1")
    assert document == schema.raw_schema
    assert "/api/bookings/sync" in document["paths"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_answer_contradicts_the_document(
    case: schemathesis.Case[Any], fuzzed_gateway: RunningGateway, caller_headers: dict[str, str]
) -> None:
    case.call_and_validate(base_url=fuzzed_gateway.url, headers=caller_headers, checks=CHECKS, timeout=60)
