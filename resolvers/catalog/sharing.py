"""shareResource and unshareResource: a location lends staff, a room or equipment to another."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from resolvers import bounds
from resolvers.authorization import require_owned_resource
from resolvers.catalog.sharing_rules import parse_rules
from resolvers.context import Context
from resolvers.errors import InvalidInputError, NotFoundError
from resolvers.idempotency import run_idempotent
from resolvers.results import WriteResult
from resolvers.writing import audit_write, deliver, enqueue_for_owner, get_or_not_found, require_capability
from sources.cache.models import Location, Resource, ResourceShare
from sources.connectors.base import Capability
from sync.outbox.messages import ResourceShareMessage, ResourceUnshareMessage, ShareBefore


async def _set_share(
    context: Context, resource_id: str, with_location_id: str, rules: dict[str, Any] | None, key: str
) -> WriteResult:
    async with context.services.writer.transaction() as session:
        resource: Resource = await get_or_not_found(session, Resource, resource_id, "resource")
        borrower: Location = await get_or_not_found(session, Location, with_location_id, "location")
        if borrower.id == resource.location_id:
            raise InvalidInputError("a location cannot share a resource with itself", field="withLocationId")
        owner = await session.get_one(Location, resource.location_id)
        require_capability(context, owner, Capability.SHARE_RESOURCES, "share resources")
        share = (
            await session.execute(
                select(ResourceShare).where(
                    ResourceShare.resource_id == resource.id, ResourceShare.location_id == borrower.id
                )
            )
        ).scalar()
        before = None if share is None else ShareBefore(share.rules, share.is_active)
        if rules is None:
            if share is None or not share.is_active:
                raise NotFoundError(f"{resource.name} is not shared with {borrower.name}", field="withLocationId")
            share.is_active = False
            operation = "resource.unshare"
        else:
            if share is None:
                share = ResourceShare(resource_id=resource.id, location_id=borrower.id, rules=rules, is_active=True)
                session.add(share)
            else:
                share.rules, share.is_active = rules, True
            operation = "resource.share"
        message_type = ResourceShareMessage if rules is not None else ResourceUnshareMessage
        message = message_type(resource.id, resource.local_resource_id, borrower.id, rules or {}, before)
        message_id = await enqueue_for_owner(session, location_id=owner.id, message=message, key=f"{key}:{operation}")
        await audit_write(
            context,
            session,
            action=operation,
            entity_type="resource",
            entity_id=resource.id,
            location_id=owner.id,
            details={"with": borrower.id, "rules": rules},
        )
    return await deliver(context, "resource", resource_id, [message_id])


async def share_resource(
    context: Context, resource_id: str, with_location_id: str, rules: dict[str, Any], key: str
) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("resourceId", resource_id)
    bounds.key("withLocationId", with_location_id)
    bounds.json_value("rules", rules)
    await require_owned_resource(context, resource_id)
    parse_rules(rules)
    arguments = {"resource_id": resource_id, "with": with_location_id, "rules": rules}
    return await run_idempotent(
        context, "shareResource", key, arguments, lambda: _set_share(context, resource_id, with_location_id, rules, key)
    )


async def unshare_resource(context: Context, resource_id: str, with_location_id: str, key: str) -> WriteResult:
    bounds.idempotency_key(key)
    bounds.key("resourceId", resource_id)
    bounds.key("withLocationId", with_location_id)
    await require_owned_resource(context, resource_id)
    arguments = {"resource_id": resource_id, "with": with_location_id}
    return await run_idempotent(
        context,
        "unshareResource",
        key,
        arguments,
        lambda: _set_share(context, resource_id, with_location_id, None, key),
    )
