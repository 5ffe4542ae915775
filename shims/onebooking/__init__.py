"""The OneBooking central API (specs/onebooking-central.md): the push source websites call, the dashboard's
booking list and edits (synced back by signed webhook), website registration and the test webhook."""

from __future__ import annotations

from shims.common.endpoint import Endpoint
from shims.onebooking.booking_edit import edit_endpoint
from shims.onebooking.bookings_list import list_endpoint
from shims.onebooking.push import push_endpoint
from shims.onebooking.websites import website_endpoints


def endpoints() -> list[Endpoint]:
    return [push_endpoint(), list_endpoint(), edit_endpoint(), *website_endpoints()]
