"""Bookings: the list and lookups, create, reschedule and cancel, transfer, and the slot claim."""
