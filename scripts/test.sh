#!/usr/bin/env bash
# Installs everything (Python packages, GraphiQL assets, Chromium for the browser test) and runs
# the whole test suite, on SQLite and on the PostgreSQL at 127.0.0.1:5432 (database `test`), at the
# suite's fixed instant, then its query modules with the compiled read path off (scripts/ordinary_reads.sh),
# then (scripts/clock_matrix.sh) its clock-sensitive modules at six others.
# With arguments, runs only `pytest ARGS…` (no clock matrix).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --dev
bash scripts/install_test_clients.sh
if ! command -v chromium >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
if [[ $# -gt 0 ]]; then
  exec .venv/bin/python -m pytest "$@"
fi
# Two workers, a test module each at a time (its module-scoped gateway stays in one process); every worker
# makes its own databases and gateways, so they share nothing but the machine.
.venv/bin/python -m pytest -n 2 --dist loadfile
bash scripts/ordinary_reads.sh
bash scripts/clock_matrix.sh
