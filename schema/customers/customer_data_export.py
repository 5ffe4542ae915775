"""exportCustomerData: the right of access, as one JSON document."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers.customers import export
from resolvers.results import WriteResult
from schema.customers.request_types import DataSubjectRequest, load_request
from schema.payloads import MutationPayload
from schema.permissions import Permission, requires
from schema.write_inputs import idempotency_key_field, key_for, run_write


@strawberry.input(description="The customer whose data to export.")
class ExportCustomerDataInput:
    idempotency_key: str = idempotency_key_field()
    customer_id: strawberry.ID = strawberry.field(description="Global id of the customer.")


@strawberry.type(description="The answer to exportCustomerData.")
class ExportCustomerDataPayload(MutationPayload):
    request_key: strawberry.Private[str | None]
    customer_key: strawberry.Private[str | None]

    @strawberry.field(description="The export request, with each location's outcome; null when refused.")
    async def request(self, info: Info) -> DataSubjectRequest | None:
        return await load_request(info, self.customer_key, self.request_key)

    @strawberry.field(
        description="Everything the network holds on the customer: request, customer, identities, locations "
        "(each asked live: status ok/unavailable/not_supported, and its record), bookings, revenue, consents, "
        "audit. Null when refused, or once the customer was erased."
    )
    async def document(self, info: Info) -> JSON | None:
        if self.customer_key is None:
            return None
        rows = await info.context.loaders.data_subject_requests_by_customer_id.load(self.customer_key)
        return next((row.document for row in rows if row.id == self.request_key), None)


@strawberry.type
class CustomerDataExportMutation:
    @strawberry.mutation(
        permission_classes=[requires(Permission.EXPORT_CUSTOMER_DATA)],
        description="Exports everything the network holds on a customer as one JSON document, asking every "
        "location that knows them live. A customer exports their own data; network and hub admins anyone's.",
    )
    async def export_customer_data(
        self,
        info: Info,
        input: Annotated[ExportCustomerDataInput, strawberry.argument(description="Whose data.")],
    ) -> ExportCustomerDataPayload:
        async def perform() -> WriteResult:
            customer_id = key_for(input.customer_id, "Customer", "customerId")
            return await export.export_customer_data(info.context, customer_id, input.idempotency_key)

        written = await run_write(info, perform)
        return ExportCustomerDataPayload(
            outcomes=written.outcomes,
            errors=written.errors,
            request_key=written.entity_id,
            customer_key=written.related("customerId"),
        )
