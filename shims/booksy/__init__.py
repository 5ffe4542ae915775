"""The Booksy integration (specs/booksy-integration.md): its webhook and the /api/admin/booksy/ endpoints."""

from __future__ import annotations

from shims.common.endpoint import Endpoint


def endpoints() -> list[Endpoint]:
    return []
