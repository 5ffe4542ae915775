"""withdrawConsent: a customer withdraws consent for one purpose."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.customers import consent_writes
from resolvers.results import WriteResult
from schema.customers.consent_inputs import ConsentInput, ConsentPayload, to_change
from schema.permissions import Permission, requires
from schema.write_inputs import run_write


@strawberry.type
class ConsentWithdrawMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.RECORD_CONSENTS)],
        description="Records that a customer withdraws consent for a purpose (who may: as recordConsent). "
        "Withdrawing data sharing stops it at once: nothing more of theirs leaves for another location, what "
        "still waited to be sent is cancelled, and `heldAt` names the locations that already hold their data.",
    )
    async def withdraw_consent(
        self, info: Info, input: Annotated[ConsentInput, strawberry.argument(description="The withdrawal.")]
    ) -> ConsentPayload:
        async def perform() -> WriteResult:
            return await consent_writes.withdraw_consent(info.context, to_change(input), input.idempotency_key)

        return ConsentPayload.of(await run_write(info, perform))
