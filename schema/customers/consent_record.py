"""recordConsent: a customer grants consent for one purpose."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.customers import consent_writes
from resolvers.results import WriteResult
from schema.customers.consent_inputs import ConsentInput, ConsentPayload, to_change
from schema.permissions import Permission, requires
from schema.write_inputs import run_write


@strawberry.input(description="A consent granted, and until when.")
class RecordConsentInput(ConsentInput):
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the grant lapses (then it counts as withdrawn); null: it does not."
    )


@strawberry.type
class ConsentRecordMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.RECORD_CONSENTS)],
        description="Records that a customer grants consent for a purpose: a new record in their history, which "
        "becomes the purpose's current state. A customer records their own; location staff those of customers "
        "their locations know. With data sharing granted, the customer's record may go to other locations.",
    )
    async def record_consent(
        self, info: Info, input: Annotated[RecordConsentInput, strawberry.argument(description="The consent.")]
    ) -> ConsentPayload:
        async def perform() -> WriteResult:
            return await consent_writes.record_consent(
                info.context, to_change(input, input.expires_at), input.idempotency_key
            )

        return ConsentPayload.of(await run_write(info, perform))
