"""Currency minor units: the one table of ISO 4217 exponents every layer converts money with.

The cache keeps money as integer minor units with a currency; the GraphQL face shows it in
major units, REST shims and connectors read major units off the wire. All of them go
through the exponents here, so a currency is never two sizes in two places.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS: Mapping[str, int] = MappingProxyType(
    {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}
)


class InexactAmount(ValueError):
    """An amount with more decimals than its currency's minor unit."""


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """45.5 GBP -> 4550; refuses (InexactAmount) an amount finer than the currency's minor unit."""
    minor = amount.scaleb(currency_exponent(currency))
    if not minor.is_finite() or minor != minor.to_integral_value():
        raise InexactAmount(f"more decimals than {currency} has")
    return int(minor)


def from_minor_units(minor_units: int, currency: str) -> Decimal:
    """4550 GBP -> Decimal("45.50"), 4550 JPY -> Decimal("4550")."""
    return Decimal(minor_units).scaleb(-currency_exponent(currency))
