"""Root mutation fields, one module per mutation named entity first (Saleor style), merged into Mutation."""

from __future__ import annotations

import strawberry

from schema.mutations.booking_cancel import BookingCancelMutation
from schema.mutations.booking_create import BookingCreateMutation
from schema.mutations.booking_reschedule import BookingRescheduleMutation
from schema.mutations.booking_transfer import BookingTransferMutation
from schema.mutations.conflict_resolve import ConflictResolveMutation
from schema.mutations.customer_merge import CustomerMergeMutation
from schema.mutations.customer_update import CustomerUpdateMutation
from schema.mutations.outbox_message_replay import OutboxMessageReplayMutation
from schema.mutations.resource_share import ResourceShareMutation
from schema.mutations.resource_unshare import ResourceUnshareMutation
from schema.mutations.stock_adjust import StockAdjustMutation
from schema.mutations.stock_release import StockReleaseMutation
from schema.mutations.stock_reserve import StockReserveMutation
from schema.mutations.stock_transfer import StockTransferMutation
from schema.mutations.sync_job_rollback import SyncJobRollbackMutation
from schema.mutations.sync_trigger import SyncTriggerMutation

MUTATIONS: tuple[type, ...] = (
    BookingCreateMutation,
    BookingRescheduleMutation,
    BookingCancelMutation,
    BookingTransferMutation,
    CustomerUpdateMutation,
    CustomerMergeMutation,
    ResourceShareMutation,
    ResourceUnshareMutation,
    StockAdjustMutation,
    StockReserveMutation,
    StockReleaseMutation,
    StockTransferMutation,
    OutboxMessageReplayMutation,
    SyncTriggerMutation,
    ConflictResolveMutation,
    SyncJobRollbackMutation,
)

# strawberry.tools.merge_types, plus the description the schema contract asks of every type.
Mutation = strawberry.type(
    type("Mutation", MUTATIONS, {}),
    description="Writes. Each goes to the location that owns the data (through the durable outbox when it is "
    "unreachable), takes an idempotency key, and answers with each location's outcome and any expected errors. "
    "The sync operations (triggerSync, resolveConflict, rollbackSyncJob) are safe to repeat and take no key.",
)

__all__ = ["MUTATIONS", "Mutation"]
