"""Permissions declared on fields: `permission_classes=[requires(Permission.X)]`, one per root field,
mutation and subscription (the role matrix test fails for a root field without one), and on personal fields."""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from resolvers.context import Context
from resolvers.permissions import Permission, require

__all__ = ["Permission", "RequiresPermission", "requires"]


class RequiresPermission(BasePermission):
    """Refuses the field unless the caller's role grants `permission` (resolvers/permissions.py)."""

    permission: Permission

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        context = info.context
        require(context.principal, self.permission, context.settings)  # raises the typed error
        return True


@cache
def requires(permission: Permission) -> type[RequiresPermission]:
    return type(f"Requires_{permission.value}", (RequiresPermission,), {"permission": permission})
