"""Sync jobs, their logs and the conflicts they find: types and root fields."""

from __future__ import annotations

from schema.sync.queries import SyncQueries
from schema.sync.types import Conflict, SyncJob

__all__ = ["Conflict", "SyncJob", "SyncQueries"]
