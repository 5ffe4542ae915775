"""Run a Node script against the gateway with the pinned test clients of tests/clients (see its package.json)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

CLIENTS = Path(__file__).resolve().parent / "clients"


def run_node(script: Path, *arguments: str, env: dict[str, str] | None = None, timeout: float = 120) -> Any:
    """Run `node SCRIPT ARGS…` with tests/clients' node_modules resolvable; the script prints one JSON document
    on its last line of stdout, which is returned. A failing script fails the test with its output."""
    if not (CLIENTS / "node_modules").is_dir():
        raise RuntimeError("the Node test clients are not installed: run bash scripts/install_test_clients.sh")
    done = subprocess.run(
        ["node", str(script), *arguments],
        cwd=CLIENTS,
        env={**os.environ, "NODE_PATH": str(CLIENTS / "node_modules"), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(f"node {script.name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise AssertionError(f"node {script.name} printed nothing:\n{done.stderr}")
    return json.loads(lines[-1])
