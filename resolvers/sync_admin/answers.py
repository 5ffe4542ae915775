"""What the sync administration's commands answer with, as the schema's payloads show it: a rollback's report."""

from __future__ import annotations

from sync.types import RollbackReport

__all__ = ["RollbackReport"]
