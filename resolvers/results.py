"""What a mutation answers: the entity it touched and each location's delivery outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.outbox.delivery import DeliveryOutcome, DeliveryStatus


@dataclass(frozen=True, slots=True)
class WriteResult:
    entity_type: str
    entity_id: str | None
    outcomes: tuple[DeliveryOutcome, ...] = ()
    related_ids: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "outcomes": [
                {
                    "location_id": o.location_id,
                    "message_id": o.message_id,
                    "status": o.status.value,
                    "code": o.code,
                    "reason": o.reason,
                }
                for o in self.outcomes
            ],
            "related_ids": dict(self.related_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteResult:
        return cls(
            entity_type=data["entity_type"],
            entity_id=data["entity_id"],
            outcomes=tuple(
                DeliveryOutcome(o["location_id"], o["message_id"], DeliveryStatus(o["status"]), o["code"], o["reason"])
                for o in data["outcomes"]
            ),
            related_ids=dict(data.get("related_ids", {})),
        )
