"""What each role may do: the one table of grants, read by the GraphQL fields' permission classes and by
the REST shims alike. Which rows a permitted caller then sees is the row scope's business (scope.py)."""

from __future__ import annotations

from enum import StrEnum

from identity.principal import Principal, Role
from resolvers.errors import ForbiddenError, UnauthenticatedError
from settings import Settings


class Permission(StrEnum):
    VIEW_NETWORK = "view_network"  # locations, their health and status, services, resources: the catalogue
    VIEW_AVAILABILITY = "view_availability"
    VIEW_BOOKINGS = "view_bookings"
    VIEW_CUSTOMERS = "view_customers"
    VIEW_CONTACT_DATA = "view_contact_data"  # a customer's email and phone
    VIEW_STOCK = "view_stock"
    VIEW_REVENUE = "view_revenue"
    VIEW_SYNC = "view_sync"  # sync jobs, conflicts, the outbox
    VIEW_AUDIT = "view_audit"  # the audit log (the row scope: a location's people see their locations' entries)
    BOOK = "book"  # create, reschedule, cancel bookings
    TRANSFER_BOOKINGS = "transfer_bookings"
    EDIT_CUSTOMERS = "edit_customers"
    MERGE_CUSTOMERS = "merge_customers"  # and finding the duplicates to merge
    RECORD_CONSENTS = "record_consents"  # a customer's grants and withdrawals (their own, for a customer)
    EXPORT_CUSTOMER_DATA = "export_customer_data"  # everything the network holds on a person (their own)
    ERASE_CUSTOMERS = "erase_customers"  # anonymise a person network-wide
    SHARE_RESOURCES = "share_resources"
    MANAGE_STOCK = "manage_stock"
    OPERATE_SYNC = "operate_sync"  # trigger a sync, replay an outbox message
    SETTLE_SYNC = "settle_sync"  # resolve conflicts, roll sync jobs back
    MANAGE_LOCATIONS = "manage_locations"  # register locations, rotate their credentials


P = Permission
EVERYTHING = frozenset(Permission)
CATALOGUE = frozenset({P.VIEW_NETWORK, P.VIEW_AVAILABILITY})
LOCATION_DATA = CATALOGUE | {P.VIEW_BOOKINGS, P.VIEW_CUSTOMERS, P.VIEW_CONTACT_DATA, P.VIEW_STOCK, P.VIEW_REVENUE}

GRANTS: dict[Role, frozenset[Permission]] = {
    Role.NETWORK_ADMIN: EVERYTHING,
    # Every location's operations and data; no credentials or signing keys.
    Role.HUB_ADMINISTRATOR: EVERYTHING - {P.MANAGE_LOCATIONS},
    Role.LOCATION_MANAGER: LOCATION_DATA
    | {
        P.VIEW_SYNC,
        P.VIEW_AUDIT,
        P.BOOK,
        P.TRANSFER_BOOKINGS,
        P.EDIT_CUSTOMERS,
        P.RECORD_CONSENTS,
        P.SHARE_RESOURCES,
        P.MANAGE_STOCK,
        P.OPERATE_SYNC,
    },
    # One location's data and its own revenue; nothing that reaches into the network (sync, sharing, transfers).
    Role.FRANCHISEE: LOCATION_DATA | {P.BOOK, P.EDIT_CUSTOMERS, P.RECORD_CONSENTS, P.MANAGE_STOCK},
    # Their own schedule, with customer names but not contact data.
    Role.SHARED_STAFF: CATALOGUE | {P.VIEW_BOOKINGS},
    # Their own profile and bookings; booking for themselves.
    Role.CUSTOMER: CATALOGUE
    | {P.VIEW_BOOKINGS, P.VIEW_CUSTOMERS, P.VIEW_CONTACT_DATA, P.BOOK, P.RECORD_CONSENTS, P.EXPORT_CUSTOMER_DATA},
    # A location's own credentials (REST shims): its own data and writes, and the sync conflicts it is a side of
    # (the row scope shows it those only).
    Role.LOCATION: LOCATION_DATA
    | {P.BOOK, P.EDIT_CUSTOMERS, P.RECORD_CONSENTS, P.MANAGE_STOCK, P.VIEW_SYNC, P.SETTLE_SYNC},
    Role.ANONYMOUS: frozenset(),
}


def granted(principal: Principal, permission: Permission, settings: Settings) -> bool:
    if principal.is_anonymous:
        return settings.public_availability and permission in CATALOGUE
    return permission in GRANTS[principal.role]


def require(principal: Principal, permission: Permission, settings: Settings) -> None:
    """Raise unless the principal holds the permission: UNAUTHENTICATED for anonymous, else FORBIDDEN."""
    if granted(principal, permission, settings):
        return
    if principal.is_anonymous:
        raise UnauthenticatedError("this needs a credential: send `Authorization: Bearer <token>`")
    raise ForbiddenError(f"the {principal.role.value} role may not do this ({permission.value})")


def require_location(principal: Principal, location_id: str) -> None:
    """Raise FORBIDDEN unless the principal acts for that location (a write there)."""
    if not principal.acts_for(location_id):
        raise ForbiddenError(f"you do not act for location {location_id!r}", locationId=location_id)
