"""Stock: items and levels per location, adjustments, reservations and transfers."""
