"""How a booking's money is split between the locations involved.

Prices are tax-inclusive, in minor units of the service location's currency.
A cross-location booking earns the originating location its share and the
service location the rest; a booking made where it is served earns that
location everything. The originating share is the network's split rules'
(SplitRules): a rule for the service, else one for the pair of locations, else
the network default (20 %). Each share carries the tax it contains (at the
service location's rate, where the service is supplied) and the network
commission charged on it: a percentage (the earning location's commission
rate) or, with fixed commission, a fixed amount per share in the booking's
currency (never more than the share; a currency without one falls back to the
percentage).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

FULL_SHARE_BP = 10_000
DEFAULT_ORIGINATING_SHARE_BP = 2_000


class CommissionCalculation(StrEnum):
    """specs/bookingx-network.md §6 `commission_calculation`."""

    PERCENTAGE = "percentage"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class SplitRules:
    """The network's revenue rules, read when a booking's entries are written (at booking time and on changes)."""

    default_originating_share_bp: int = DEFAULT_ORIGINATING_SHARE_BP
    # (originating location, service location) -> the originating share.
    pair_share_bp: Mapping[tuple[str, str], int] = field(default_factory=lambda: MappingProxyType({}))
    # service id -> the originating share of bookings of that service, from any location.
    service_share_bp: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    commission: CommissionCalculation = CommissionCalculation.PERCENTAGE
    # currency -> the fixed commission per share, minor units (commission FIXED).
    fixed_commission_minor: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        shares = [self.default_originating_share_bp, *self.pair_share_bp.values(), *self.service_share_bp.values()]
        if any(not 0 <= share <= FULL_SHARE_BP for share in shares):
            raise ValueError("an originating share must be between 0 and 100 %")
        if any(amount < 0 for amount in self.fixed_commission_minor.values()):
            raise ValueError("a fixed commission cannot be negative")

    def originating_share_bp(self, originating_id: str, service_location_id: str, service_id: str) -> int:
        """The service's rule, else the pair's, else the default."""
        if service_id in self.service_share_bp:
            return self.service_share_bp[service_id]
        return self.pair_share_bp.get((originating_id, service_location_id), self.default_originating_share_bp)

    def fixed_commission(self, currency: str) -> int | None:
        """The fixed commission per share in this currency; None: charge the percentage."""
        if self.commission is not CommissionCalculation.FIXED:
            return None
        return self.fixed_commission_minor.get(currency)


@dataclass(frozen=True, slots=True)
class LocationRates:
    location_id: str
    tax_rate_bp: int
    commission_rate_bp: int


@dataclass(frozen=True, slots=True)
class RevenueShare:
    location_id: str
    role: str  # originating|service|sole
    share_bp: int
    amount_minor: int
    tax_minor: int
    commission_minor: int

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.tax_minor - self.commission_minor


def _ratio(amount: int, numerator: int, denominator: int) -> int:
    """amount * numerator / denominator rounded half up, in exact integer arithmetic."""
    return (2 * amount * numerator + denominator) // (2 * denominator)


def _share(
    amount: int, location: LocationRates, role: str, share_bp: int, tax_rate_bp: int, fixed_commission: int | None
) -> RevenueShare:
    if fixed_commission is None:
        commission = _ratio(amount, location.commission_rate_bp, FULL_SHARE_BP)
    else:
        commission = min(fixed_commission, amount)
    return RevenueShare(
        location_id=location.location_id,
        role=role,
        share_bp=share_bp,
        amount_minor=amount,
        tax_minor=_ratio(amount, tax_rate_bp, FULL_SHARE_BP + tax_rate_bp),
        commission_minor=commission,
    )


def split_revenue(
    total_minor: int,
    originating: LocationRates,
    service: LocationRates,
    originating_share_bp: int = DEFAULT_ORIGINATING_SHARE_BP,
    fixed_commission: int | None = None,
) -> list[RevenueShare]:
    """The revenue entries for one booking; their amounts always add up to the total."""
    if total_minor < 0:
        raise ValueError("a booking total cannot be negative")
    if not 0 <= originating_share_bp <= FULL_SHARE_BP:
        raise ValueError("the originating share must be between 0 and 100 %")
    tax_rate_bp = service.tax_rate_bp
    if originating.location_id == service.location_id:
        return [_share(total_minor, service, "sole", FULL_SHARE_BP, tax_rate_bp, fixed_commission)]
    originating_amount = _ratio(total_minor, originating_share_bp, FULL_SHARE_BP)
    return [
        _share(originating_amount, originating, "originating", originating_share_bp, tax_rate_bp, fixed_commission),
        _share(
            total_minor - originating_amount,
            service,
            "service",
            FULL_SHARE_BP - originating_share_bp,
            tax_rate_bp,
            fixed_commission,
        ),
    ]
