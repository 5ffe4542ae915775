"""Money on the wire: exact decimal amounts with their currency, never floats."""

from __future__ import annotations

from decimal import Decimal

import strawberry

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


@strawberry.type(description="An exact amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(description='The amount as an exact decimal string, e.g. "42.50".')
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. GBP.")
    minor_units: int = strawberry.field(description="The amount in the currency's minor unit (pence, cents).")

    @classmethod
    def of(cls, minor_units: int, currency: str) -> Money:
        return cls(
            amount=Decimal(minor_units).scaleb(-currency_exponent(currency)), currency=currency, minor_units=minor_units
        )


def percent_from_basis_points(basis_points: int) -> Decimal:
    return Decimal(basis_points).scaleb(-2)
