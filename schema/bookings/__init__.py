"""Bookings in GraphQL: the Booking type, its queries, and one module per mutation (booking_<verb>.py)."""
