#!/usr/bin/env bash
# Runs the query test modules again with the compiled read path off (GATEWAY_COMPILED_READS=false), so the
# same assertions hold for both ways a query is answered: compiled to one statement (the default, the main
# run) and executed field by field. tests/test_compiled_reads.py compares the two answers directly.
# Usage: scripts/ordinary_reads.sh [pytest args…]   (expects .venv from scripts/install.sh --dev)
set -euo pipefail
cd "$(dirname "$0")/.."
MODULES=(
  tests/test_dashboard_query.py tests/test_bookings_query.py tests/test_row_scope.py tests/test_role_matrix.py
  tests/test_errors.py tests/test_limits.py tests/test_graphql_over_http.py tests/test_network_queries.py
  tests/test_live_reads.py tests/test_onebooking_dashboard.py tests/test_docs_examples.py
)
GATEWAY_COMPILED_READS=false .venv/bin/python -m pytest -q -n 2 --dist loadfile "${MODULES[@]}" "$@"
