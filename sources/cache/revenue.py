"""How a booking's money is split between the locations involved.

Prices are tax-inclusive, in minor units of the service location's currency.
A cross-location booking earns the originating location its share (20 % by
default) and the service location the rest; a booking made where it is served
earns that location everything. Each share carries the tax it contains (at the
service location's rate, where the service is supplied) and the network
commission charged on it (at the earning location's commission rate).
"""

from __future__ import annotations

from dataclasses import dataclass

FULL_SHARE_BP = 10_000


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


def _share(amount: int, location: LocationRates, role: str, share_bp: int, tax_rate_bp: int) -> RevenueShare:
    return RevenueShare(
        location_id=location.location_id,
        role=role,
        share_bp=share_bp,
        amount_minor=amount,
        tax_minor=_ratio(amount, tax_rate_bp, FULL_SHARE_BP + tax_rate_bp),
        commission_minor=_ratio(amount, location.commission_rate_bp, FULL_SHARE_BP),
    )


def split_revenue(
    total_minor: int,
    originating: LocationRates,
    service: LocationRates,
    originating_share_bp: int = 2_000,
) -> list[RevenueShare]:
    """The revenue entries for one booking; their amounts always add up to the total."""
    if total_minor < 0:
        raise ValueError("a booking total cannot be negative")
    if not 0 <= originating_share_bp <= FULL_SHARE_BP:
        raise ValueError("the originating share must be between 0 and 100 %")
    tax_rate_bp = service.tax_rate_bp
    if originating.location_id == service.location_id:
        return [_share(total_minor, service, "sole", FULL_SHARE_BP, tax_rate_bp)]
    originating_amount = _ratio(total_minor, originating_share_bp, FULL_SHARE_BP)
    return [
        _share(originating_amount, originating, "originating", originating_share_bp, tax_rate_bp),
        _share(
            total_minor - originating_amount,
            service,
            "service",
            FULL_SHARE_BP - originating_share_bp,
            tax_rate_bp,
        ),
    ]
