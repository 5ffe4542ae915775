#!/usr/bin/env bash
# Installs what the gateway needs into .venv (and the GraphiQL assets from the npm registry).
# Usage: scripts/install.sh [--dev]   (--dev adds the test and lint tools)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [[ "${1:-}" == "--dev" ]]; then
  .venv/bin/python -m pip install --quiet -e '.[dev]'
else
  .venv/bin/python -m pip install --quiet -e .
fi
bash scripts/install_graphiql.sh
