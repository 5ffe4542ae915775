#!/usr/bin/env bash
# Installs GraphiQL's browser assets into graphiql/node_modules from the npm registry, exactly as
# pinned by graphiql/package-lock.json (npm ci checks every tarball's integrity hash; the gateway
# then checks each served file's sha384 at start-up). Never committed. Safe to re-run: npm ci
# always rebuilds graphiql/node_modules from the lockfile, which also repairs a tampered tree.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v npm >/dev/null 2>&1; then
  echo "install_graphiql.sh: npm is not installed; install Node.js and npm (e.g. apt-get install npm)," \
    "then run: npm ci --prefix graphiql" >&2
  exit 1
fi

# --ignore-scripts: no package here needs an install script, so none is run.
npm ci --prefix graphiql --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
