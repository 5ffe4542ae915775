"""Root mutation fields, one module per mutation named entity first (Saleor style), merged into Mutation."""

from __future__ import annotations

import strawberry

from schema.bookings.booking_cancel import BookingCancelMutation
from schema.bookings.booking_create import BookingCreateMutation
from schema.bookings.booking_reschedule import BookingRescheduleMutation
from schema.bookings.booking_transfer import BookingTransferMutation
from schema.catalog.resource_share import ResourceShareMutation
from schema.catalog.resource_unshare import ResourceUnshareMutation
from schema.customers.consent_record import ConsentRecordMutation
from schema.customers.consent_withdraw import ConsentWithdrawMutation
from schema.customers.customer_data_export import CustomerDataExportMutation
from schema.customers.customer_erase import CustomerEraseMutation
from schema.customers.customer_merge import CustomerMergeMutation
from schema.customers.customer_update import CustomerUpdateMutation
from schema.inventory.stock_adjust import StockAdjustMutation
from schema.inventory.stock_release import StockReleaseMutation
from schema.inventory.stock_reserve import StockReserveMutation
from schema.inventory.stock_transfer import StockTransferMutation
from schema.locations.location_credentials_rotate import LocationCredentialsRotateMutation
from schema.locations.location_register import LocationRegisterMutation
from schema.sync.conflict_resolve import ConflictResolveMutation
from schema.sync.outbox_message_replay import OutboxMessageReplayMutation
from schema.sync.sync_job_rollback import SyncJobRollbackMutation
from schema.sync.sync_trigger import SyncTriggerMutation

MUTATIONS: tuple[type, ...] = (
    BookingCreateMutation,
    BookingRescheduleMutation,
    BookingCancelMutation,
    BookingTransferMutation,
    CustomerUpdateMutation,
    CustomerMergeMutation,
    ConsentRecordMutation,
    ConsentWithdrawMutation,
    CustomerDataExportMutation,
    CustomerEraseMutation,
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
    LocationRegisterMutation,
    LocationCredentialsRotateMutation,
)

# strawberry.tools.merge_types, plus the description the schema contract asks of every type.
Mutation = strawberry.type(
    type("Mutation", MUTATIONS, {}),
    description="Writes. Each goes to the location that owns the data (through the durable outbox when it is "
    "unreachable), takes an idempotency key, and answers with each location's outcome and any expected errors. "
    "The sync operations (triggerSync, resolveConflict, rollbackSyncJob) are safe to repeat and take no key.",
)

__all__ = ["MUTATIONS", "Mutation"]
