"""Money on the wire: exact decimal amounts with their currency, never floats."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from resolvers.money import from_minor_units


@strawberry.type(description="An exact amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description='The amount as an exact decimal string, e.g. "42.50".')
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. GBP.")
    minor_units: int = strawberry.field(description="The amount in the currency's minor unit (pence, cents).")

    @classmethod
    def of(cls, minor_units: int, currency: str) -> Money:
        return cls(amount=from_minor_units(minor_units, currency), currency=currency, minor_units=minor_units)


def percent_from_basis_points(basis_points: int) -> Decimal:
    return Decimal(basis_points).scaleb(-2)
