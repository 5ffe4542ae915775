"""The gateway's own downloads: monthly location statements as CSV or JSON (resolvers.revenue.statements, as
GraphQL's locationStatements)."""

from __future__ import annotations

from shims.common.endpoint import Endpoint
from shims.statements.download import statement_endpoint


def endpoints() -> list[Endpoint]:
    return [statement_endpoint()]
