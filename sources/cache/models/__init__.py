"""Every cache table; importing this package registers them all on Base.metadata."""

from sources.cache.models.audit import AuditEntry
from sources.cache.models.base import Base
from sources.cache.models.bookings import Booking, RevenueEntry
from sources.cache.models.catalog import Resource, ResourceShare, Service
from sources.cache.models.customers import Customer, CustomerMapping
from sources.cache.models.identity import LocationCredential, SigningKey
from sources.cache.models.inventory import StockItem, StockLevel, StockMovement
from sources.cache.models.network import Location
from sources.cache.models.privacy import ConsentRecord, CustomerSuppression, DataSubjectRequest
from sources.cache.models.sync import (
    ChangeLogEntry,
    Conflict,
    IdempotencyRecord,
    OutboxMessage,
    RefreshMark,
    SyncCursor,
    SyncJob,
    SyncLog,
    SyncState,
    WebhookReceipt,
)

__all__ = [
    "AuditEntry",
    "Base",
    "Booking",
    "ChangeLogEntry",
    "Conflict",
    "ConsentRecord",
    "Customer",
    "CustomerMapping",
    "CustomerSuppression",
    "DataSubjectRequest",
    "IdempotencyRecord",
    "Location",
    "LocationCredential",
    "OutboxMessage",
    "RefreshMark",
    "Resource",
    "ResourceShare",
    "RevenueEntry",
    "Service",
    "SigningKey",
    "StockItem",
    "StockLevel",
    "StockMovement",
    "SyncCursor",
    "SyncJob",
    "SyncLog",
    "SyncState",
    "WebhookReceipt",
]
