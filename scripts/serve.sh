#!/usr/bin/env bash
# Installs and runs the gateway on its embedded defaults (SQLite cache, demo network,
# GraphiQL at http://127.0.0.1:8000/graphql). Extra arguments go to server.py, e.g. --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/python server.py "$@"
