"""The OneBooking central API (specs/onebooking-central.md): the push endpoints source websites call."""
