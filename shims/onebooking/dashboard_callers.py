"""Who uses OneBooking's dashboard, in the network's roles, and which websites each of them sees.

The spec's roles map onto the network's (identity.principal.Role):
- superadmin: network_admin and hub_administrator, every website; registering websites is network_admin's
  alone (Permission.MANAGE_LOCATIONS).
- admin: location_manager and franchisee, the websites among their token's locations: they read and edit.
- staff: shared_staff, the websites among their token's locations: they read every booking of those websites
  (resolvers.context.website_staff_scope: a website's bookings name no resource, so the staff member's own
  schedule, their GraphQL scope, would show none), customer names but never email or phone
  (Permission.VIEW_CONTACT_DATA).
Customers, locations' own keys and anonymous callers are not dashboard users: 403 FORBIDDEN (401 AUTH_FAILED
without a valid bearer token)."""

from __future__ import annotations

from enum import StrEnum

from starlette.requests import Request

from identity.principal import Principal, Role
from resolvers.context import Context, website_staff_scope
from resolvers.locations.queries import visible_location_ids
from shims.common.callers import bearer_principal, context_for, spend
from shims.common.refusal import Refusal
from shims.onebooking.errors import AUTH_FAILED, FORBIDDEN, RATE_LIMITED
from shims.onebooking.website import KIND


class DashboardRole(StrEnum):
    SUPERADMIN = "superadmin"
    ADMIN = "admin"
    STAFF = "staff"


DASHBOARD_ROLES: dict[Role, DashboardRole] = {
    Role.NETWORK_ADMIN: DashboardRole.SUPERADMIN,
    Role.HUB_ADMINISTRATOR: DashboardRole.SUPERADMIN,
    Role.LOCATION_MANAGER: DashboardRole.ADMIN,
    Role.FRANCHISEE: DashboardRole.ADMIN,
    Role.SHARED_STAFF: DashboardRole.STAFF,
}
EDITORS = frozenset({DashboardRole.SUPERADMIN, DashboardRole.ADMIN})


async def dashboard_caller(request: Request, *, editing: bool = False) -> tuple[Principal, Context]:
    """The bearer token's principal and its context; 403 FORBIDDEN unless its role uses the dashboard (and, for
    `editing`, is an admin's)."""
    principal = await bearer_principal(request, code=AUTH_FAILED)
    spend(request, principal, code=RATE_LIMITED)
    role = DASHBOARD_ROLES.get(principal.role)
    if role is None:
        raise Refusal(403, FORBIDDEN, f"the {principal.role.value} role does not use the OneBooking dashboard")
    if editing and role not in EDITORS:
        raise Refusal(403, FORBIDDEN, f"{role.value} may read bookings, not change them")
    context = context_for(request, principal)
    if role is DashboardRole.STAFF:
        context.scope = website_staff_scope(principal, await websites_of(context))
        context.reset_loaders()
    return principal, context


async def websites_of(context: Context) -> list[str]:
    """The websites (locations of kind onebooking, not retired) the caller sees."""
    return await visible_location_ids(context, KIND)
