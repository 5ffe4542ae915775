"""Every shim's endpoints, their routes, and the one OpenAPI document describing them all."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shims import booking_engine, bookingx, booksy, onebooking, platforms, statements
from shims.common.endpoint import Endpoint, routes_of
from shims.common.openapi import openapi_document

OPENAPI_PATH = "/openapi.json"
API_VERSION = "1.0.0"


def shim_endpoints() -> list[Endpoint]:
    return [
        *onebooking.endpoints(),
        *bookingx.endpoints(),
        *booksy.endpoints(),
        *booking_engine.endpoints(),
        *platforms.endpoints(),
        *statements.endpoints(),
    ]


def shim_routes() -> list[Route]:
    endpoints = shim_endpoints()
    document = openapi_document(endpoints, title="Booking network gateway: REST shims", version=API_VERSION)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document)

    return [*routes_of(endpoints), Route(OPENAPI_PATH, openapi, methods=["GET"])]
