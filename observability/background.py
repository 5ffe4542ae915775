"""One failed pass of a background loop (the outbox worker, the heartbeat, the scheduler, lease renewals): logged,
and the loop goes on, unless the loop's task is being cancelled.

A cancellation that arrives inside a driver call can come out as another exception: asyncpg cancelled in the
middle of a statement leaves SQLAlchemy's rollback to fail with an error of its own. A loop that logged that and
went on would have swallowed the only cancellation it gets, and whoever stops it (the lifespan's shutdown)
would wait for it for ever.
"""

from __future__ import annotations

import asyncio
import logging


def raise_if_cancelling() -> None:
    """Call in a loop's `except` block before going on: CancelledError when the current task was asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def pass_failed(logger: logging.Logger, message: str, *args: object, level: int = logging.ERROR) -> None:
    """Call in the loop's `except Exception:` block: logs the failure with its traceback, or raises
    CancelledError when the current task was asked to stop."""
    raise_if_cancelling()
    logger.log(level, message, *args, exc_info=True)
