#!/usr/bin/env bash
# Installs the bench's Node peer into bench/peer/node_modules exactly as pinned by package-lock.json (npm ci
# checks every tarball's integrity), when it is missing or stale: installed from another lock file or for
# another Node (better-sqlite3 is a native module, built for one Node ABI). Never committed; safe to re-run.
# better-sqlite3 is compiled from source (about a minute on 2 cores): no prebuilt binary is downloaded.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "bench/peer/install.sh: node and npm are not installed; install Node.js 20+ and npm (e.g. apt-get install npm)" >&2
  exit 1
fi
stamp="$(sha256sum package-lock.json | cut -d' ' -f1) node $(node --version) abi $(node -p process.versions.modules)"
if [[ -f node_modules/.bench-peer-stamp && "$(cat node_modules/.bench-peer-stamp)" == "$stamp" ]]; then
  exit 0
fi
# node-gyp builds against the headers of the Node that runs it; point it at the installed ones rather than
# letting it download them.
prefix="$(dirname "$(dirname "$(command -v node)")")"
if [[ -z "${npm_config_nodedir:-}" && -f "$prefix/include/node/node.h" ]]; then
  export npm_config_nodedir="$prefix"
fi
export npm_config_build_from_source=true
npm ci --no-audit --no-fund --loglevel=error >/dev/null
node -e 'new (require("better-sqlite3"))(":memory:").close()'
echo "$stamp" > node_modules/.bench-peer-stamp
