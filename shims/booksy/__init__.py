"""The Booksy integration (specs/booksy-integration.md): its webhook and the /api/admin/booksy/ endpoints."""

from __future__ import annotations

from shims.booksy.conflicts import conflict_endpoints
from shims.booksy.operations import operation_endpoints
from shims.booksy.records import record_endpoints
from shims.booksy.status import status_endpoints
from shims.booksy.webhook import webhook_endpoint
from shims.common.endpoint import Endpoint


def endpoints() -> list[Endpoint]:
    return [
        webhook_endpoint(),
        *status_endpoints(),
        *conflict_endpoints(),
        *operation_endpoints(),
        *record_endpoints(),
    ]
