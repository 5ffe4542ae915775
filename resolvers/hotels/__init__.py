"""Hotels: locations of kind `pms` with rooms. Stays between hotel-local dates, the hotel's room types,
amenities and prices, and its rooms free for a stay (asked live)."""
