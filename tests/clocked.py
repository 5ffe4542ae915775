"""`python tests/clocked.py server.py ARGS…` runs server.py as `python server.py ARGS…` would, on the tests' clock."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

from clock import travel_by_inherited_offset  # python puts this file's folder first on sys.path

if __name__ == "__main__":
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path[0] = str(Path(script).resolve().parent)
    travel_by_inherited_offset()
    runpy.run_path(script, run_name="__main__")
