"""The principal: who an operation runs as.

A person or service presents a JWT naming their role (and, by role, their locations, customer or resource);
a location presents its own credentials and acts for itself only; anyone else is anonymous. Every
operation, GraphQL or REST, runs as exactly one principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The network's roles (specs/bookingx-network.md §2), spelled as tokens and the CLI spell them."""

    NETWORK_ADMIN = "network_admin"
    HUB_ADMINISTRATOR = "hub_administrator"
    LOCATION_MANAGER = "location_manager"
    FRANCHISEE = "franchisee"
    SHARED_STAFF = "shared_staff"
    CUSTOMER = "customer"
    # A location authenticated by its own API key, or by the short-lived token its handshake answered (the
    # only way a token carries this role: never issued by the CLI), acting for itself.
    LOCATION = "location"
    # Not in tokens: no credential at all.
    ANONYMOUS = "anonymous"


# The roles a token may be issued for by the CLI (a LOCATION token comes from a handshake only; ANONYMOUS never).
TOKEN_ROLES: tuple[Role, ...] = (
    Role.NETWORK_ADMIN,
    Role.HUB_ADMINISTRATOR,
    Role.LOCATION_MANAGER,
    Role.FRANCHISEE,
    Role.SHARED_STAFF,
    Role.CUSTOMER,
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. Hashable: it keys rate-limit buckets and caches.

    - `location_ids`: the locations a location manager, franchisee, shared staff member or location acts for.
    - `customer_id`: the customer a customer principal is.
    - `resource_id`: the resource (the staff member's own record) a shared staff member is.
    """

    subject: str
    role: Role
    location_ids: frozenset[str] = frozenset()
    customer_id: str | None = None
    resource_id: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.role is Role.ANONYMOUS

    @property
    def sees_every_location(self) -> bool:
        """Network-wide roles: every location's rows, no location list needed."""
        return self.role in (Role.NETWORK_ADMIN, Role.HUB_ADMINISTRATOR)

    def acts_for(self, location_id: str) -> bool:
        """May act on this location's behalf (its data, its writes)."""
        return self.sees_every_location or location_id in self.location_ids


ANONYMOUS = Principal(subject="anonymous", role=Role.ANONYMOUS)


def location_principal(location_id: str) -> Principal:
    """A location authenticated by its own credentials: it acts for itself only."""
    return Principal(subject=f"location:{location_id}", role=Role.LOCATION, location_ids=frozenset({location_id}))
