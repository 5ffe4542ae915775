#!/usr/bin/env bash
# Runs the clock-sensitive test modules with the session clock set to several instants: hours of a
# summer day, a run that crosses midnight in London and Dublin, and runs that cross the spring and
# autumn DST changes (Europe/London and Europe/Dublin change at 01:00 UTC). Each instant is its own
# pytest process (tests/clock.py reads GATEWAY_TEST_NOW); they run three at a time (a process waits on its
# gateways' sockets a third of the time). On SQLite only: what depends on the hour is the gateway's own
# Python (opening hours, local days, DST); the main run covers PostgreSQL at the suite's instant.
# Usage: scripts/clock_matrix.sh [pytest args…]   (expects .venv from scripts/install.sh --dev)
set -euo pipefail
cd "$(dirname "$0")/.."

INSTANTS=(
  "2026-06-16T05:10:00+00:00"  # early morning, before any location opens
  "2026-06-16T14:25:00+00:00"  # mid-afternoon
  "2026-06-16T22:59:40+00:00"  # crosses local midnight (23:00 UTC is midnight in BST and IST)
  "2026-12-31T23:59:40+00:00"  # crosses UTC midnight, which is local midnight in winter, and the year
  "2026-03-29T00:59:40+00:00"  # crosses the spring-forward change (01:00 UTC)
  "2026-10-25T00:59:40+00:00"  # crosses the fall-back change (01:00 UTC)
)
MODULES=(
  tests/test_sync_queries.py tests/test_availability.py tests/test_bookings_query.py
  tests/test_revenue_report.py tests/test_demo_network.py tests/test_sync_manual.py
  tests/test_sync_scenarios.py tests/test_writes.py tests/test_network_queries.py tests/test_replicas.py
  tests/test_onebooking.py tests/test_onebooking_push.py tests/test_bookingx_connector.py tests/test_delta_pull.py tests/test_subscriptions.py
  tests/test_booking_engine.py tests/test_sharing_rules.py
)
logs=$(mktemp -d)
failed=0
run() {
  local instant=$1
  if GATEWAY_TEST_NOW="$instant" .venv/bin/python -m pytest -q -k "not postgresql" "${MODULES[@]}" "${@:2}" >"$logs/$instant.log" 2>&1; then
    echo "clock $instant: $(tail -1 "$logs/$instant.log")"
  else
    echo "clock $instant: FAILED"; tail -40 "$logs/$instant.log"; return 1
  fi
}
for ((i = 0; i < ${#INSTANTS[@]}; i += 3)); do
  pids=()
  for instant in "${INSTANTS[@]:i:3}"; do
    run "$instant" "$@" & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
done
exit $failed
