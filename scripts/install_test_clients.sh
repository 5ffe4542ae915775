#!/usr/bin/env bash
# Installs the Node test clients (graphql-http's audit, graphql-ws, graphql-sse, Apollo Client, Apollo
# Federation's subgraph/composition/gateway) into tests/clients/node_modules exactly as pinned by
# tests/clients/package-lock.json (npm ci checks every tarball's integrity). Never committed; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "install_test_clients.sh: npm is not installed; install Node.js and npm (e.g. apt-get install npm)" >&2
  exit 1
fi
npm ci --prefix tests/clients --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
