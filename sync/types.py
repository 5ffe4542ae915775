"""The sync engine's surface for resolvers and the scheduler (the implementation lives beside it).

Entity type names are defined once, below `sync/` (connectors speak them too): `EntityType` names
what a pull asks a location for, `RecordType` one record of it. Both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sources.connectors.records import EntityType, RecordType

__all__ = ["ConflictChoice", "EntityType", "RecordType", "RollbackReport", "Strategy"]


class ConflictChoice(StrEnum):
    LOCATION = "source"  # the location's change that arrived (the conflict's source side)
    NETWORK = "target"  # what the network held (another location's change, or a gateway write)


class Strategy(StrEnum):
    HUB_WINS = "hub_wins"
    NODE_WINS = "node_wins"
    NEWEST = "newest"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class RollbackReport:
    job_id: str
    restored: int  # cache records put back to their before-image
    skipped: int  # records changed again after the job: left as they are
    compensations: int  # writes queued to locations to undo what the job applied
    already_rolled_back: bool
