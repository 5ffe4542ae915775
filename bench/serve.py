"""Launch one benchmark server: the gateway or the floor, on 127.0.0.1, optionally pinned to a CPU.

python -m bench.serve gateway --database-url sqlite+aiosqlite:///... --port 8123 --cpu 0
python -m bench.serve floor   --database-url sqlite+aiosqlite:///... --port 8124 --cpu 0
"""

from __future__ import annotations

import argparse
import os

import uvicorn
from starlette.applications import Starlette


def build_app(target: str, database_url: str) -> Starlette:
    if target == "gateway":
        from server import create_app
        from settings import Settings

        return create_app(
            Settings(
                database_url=database_url,
                demo_network=True,
                migrate_on_start=True,
                graphiql=False,
                log_sql=False,
            )
        )
    from bench.floor import create_floor_app

    return create_floor_app(database_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=["gateway", "floor"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin the process (and its threads) to this core")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        # Before any thread exists, so aiosqlite's worker threads inherit the mask.
        os.sched_setaffinity(0, {args.cpu})
    uvicorn.run(
        build_app(args.target, args.database_url),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        workers=None,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
