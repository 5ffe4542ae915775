"""The closed sets sync jobs and conflicts are described with."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Where a sync job is in its life.")
class SyncJobStatus(Enum):
    RUNNING = strawberry.enum_value("running", description="Pulling and applying changes now.")
    COMPLETED = strawberry.enum_value("completed", description="Ended; every step ran (conflicts may be pending).")
    FAILED = strawberry.enum_value("failed", description="Stopped by an error; see errorMessage and the logs.")
    ROLLED_BACK = strawberry.enum_value(
        "rolled_back", description="Ended, then undone by rollbackSyncJob: what it applied was restored."
    )


@strawberry.enum(description="What started a sync job.")
class SyncTrigger(Enum):
    SCHEDULED = strawberry.enum_value("scheduled", description="The location's sync schedule.")
    MANUAL = strawberry.enum_value("manual", description="A person, through triggerSync.")
    WEBHOOK = strawberry.enum_value("webhook", description="A location told the gateway something changed.")
    RECOVERY = strawberry.enum_value("recovery", description="The location came back online and caught up.")
    REGISTERED = strawberry.enum_value(
        "registered", description="The location just joined the network; its records were pulled in."
    )
    STALE = strawberry.enum_value(
        "stale", description="The location refused a write as based on old data; the gateway caught up with it."
    )


@strawberry.enum(description="A kind of data the gateway keeps in step with the locations.")
class EntityType(Enum):
    CUSTOMER = strawberry.enum_value("customer", description="Customers and their details.")
    BOOKING = strawberry.enum_value("booking", description="Bookings.")
    RESOURCE = strawberry.enum_value("resource", description="Staff, rooms and equipment, and their sharing.")
    SERVICE = strawberry.enum_value(
        "service",
        description="Services offered and their prices (a service a location stops offering is retired, not deleted).",
    )
    INVENTORY = strawberry.enum_value("inventory", description="Stock levels.")


@strawberry.enum(description="Whether a conflict still waits for a decision.")
class ConflictStatus(Enum):
    PENDING = strawberry.enum_value("pending", description="Both sides kept; waits for resolveConflict.")
    RESOLVED = strawberry.enum_value("resolved", description="Decided, by a strategy or by a person.")


@strawberry.enum(description="What kind of clash a conflict is.")
class ConflictType(Enum):
    CONCURRENT_UPDATE = strawberry.enum_value(
        "concurrent_update", description="Two changes to one record, neither made knowing the other."
    )
    DOUBLE_BOOKING = strawberry.enum_value(
        "double_booking", description="Two locations confirmed overlapping bookings of one shared resource."
    )


@strawberry.enum(description="How a conflict is, or was, decided.")
class ConflictStrategy(Enum):
    HUB_WINS = strawberry.enum_value("hub_wins", description="The hub's side wins.")
    NODE_WINS = strawberry.enum_value("node_wins", description="The location's (node's) side wins.")
    NEWEST = strawberry.enum_value("newest", description="The side changed last wins.")
    MANUAL = strawberry.enum_value("manual", description="A person decides, with resolveConflict.")


@strawberry.enum(description="Which side of a conflict to keep.")
class ConflictChoice(Enum):
    SOURCE = strawberry.enum_value("source", description="The location's change that arrived (the conflict's source).")
    TARGET = strawberry.enum_value(
        "target", description="What the network held: another location's change, or a write made through the gateway."
    )
