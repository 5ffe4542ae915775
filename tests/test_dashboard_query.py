"""The dashboard's bookings page: every relation batched, SQL statements fixed whatever the page size."""

from __future__ import annotations

from decimal import Decimal

from bench.queries import DASHBOARD_QUERY
from conftest import RunningGateway, SqlStatementCounter

# Executed field by field: page + count + customers + services + resources + locations + revenue entries.
DASHBOARD_STATEMENTS = 7
# Compiled (schema/compiled/): the whole answer's JSON from one statement.
COMPILED_DASHBOARD_STATEMENTS = 1


def dashboard_statements(gateway: RunningGateway) -> int:
    """What the dashboard query costs on this gateway: the suite runs again with GATEWAY_COMPILED_READS=false."""
    compiled = gateway.app.state.settings.compiled_reads
    return COMPILED_DASHBOARD_STATEMENTS if compiled else DASHBOARD_STATEMENTS


def statements_per_page(
    gateway: RunningGateway, counter: SqlStatementCounter, query: str, sizes: tuple[int, ...]
) -> dict[int, int]:
    """SQL statements the gateway sends for one run of `query` with `first` set to each size."""
    counts = {}
    for size in sizes:
        counter.reset()
        body = gateway.graphql(query, {"first": size})
        assert "errors" not in body, body
        counts[size] = counter.count
    return counts


def test_dashboard_query_runs_the_same_statements_for_10_and_200_rows(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    counts = statements_per_page(gateway, sql_statements, DASHBOARD_QUERY, (10, 200))
    expected = dashboard_statements(gateway)
    assert counts == {10: expected, 200: expected}


def test_dashboard_rows_carry_every_relation_and_a_split_that_adds_up(gateway: RunningGateway) -> None:
    edges = gateway.graphql(DASHBOARD_QUERY, {"first": 200})["data"]["bookings"]["edges"]
    assert len(edges) == 200
    starts = [edge["node"]["startAt"] for edge in edges]
    assert starts == sorted(starts, reverse=True)
    for edge in edges:
        booking = edge["node"]
        assert booking["customer"]["fullName"] and booking["service"]["name"]
        assert booking["serviceLocation"]["name"] and booking["originatingLocation"]["name"]
        if booking["status"] == "CANCELLED":
            assert booking["revenueSplit"] == []
            continue
        split = booking["revenueSplit"]
        assert sum(Decimal(share["amount"]["amount"]) for share in split) == Decimal(booking["price"]["amount"])
        if booking["serviceLocation"]["id"] != booking["originatingLocation"]["id"]:
            assert sorted(share["sharePercent"] for share in split) == ["20.00", "80.00"]
        else:
            assert [share["role"] for share in split] == ["SOLE"]


HISTORY_STATEMENTS = 6

NESTED_HISTORY_QUERY = """
query History($first: Int!) {
  customers(first: $first) {
    nodes {
      fullName
      loyaltyPoints
      identities { localId loyaltyPoints location { name } }
      bookings(first: 3) { totalCount nodes { startAt service { name } serviceLocation { name } } }
    }
  }
}
"""


def test_customer_histories_are_batched_across_customers(
    gateway: RunningGateway, sql_statements: SqlStatementCounter
) -> None:
    counts = statements_per_page(gateway, sql_statements, NESTED_HISTORY_QUERY, (5, 50))
    # customers, their identities, their booking pages, the pages' counts, services, locations. Locations are
    # asked for by two chains (identities and bookings) whose rows arrive in separate loop ticks when the
    # database thread answers them apart, so that batch is sometimes sent as two statements.
    assert all(HISTORY_STATEMENTS <= count <= HISTORY_STATEMENTS + 1 for count in counts.values()), counts
