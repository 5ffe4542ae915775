"""When the cache database cannot be reached, clients are told SERVICE_UNAVAILABLE, not a masked 500.

The gateway talks to PostgreSQL through a TCP proxy the test controls; closing the proxy drops every open
connection and leaves nothing listening on its port, so new connections are refused: a real outage, the
same on every run.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import suppress
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import POSTGRES_ADMIN_DSN, RunningGateway, ThrowawayPostgres, start_gateway, stop_gateway
from settings import Settings


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the database server until closed."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Stop listening and cut every connection: from now on connecting is refused."""
        with suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()
        with self.lock:
            for end in self.sockets:
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


@pytest.fixture(scope="module")
def proxied() -> Iterator[tuple[RunningGateway, TcpProxy]]:
    database = ThrowawayPostgres()
    database.create()
    server = urlsplit(POSTGRES_ADMIN_DSN)
    proxy = TcpProxy((server.hostname or "127.0.0.1", server.port or 5432))
    url = database.url.replace(f"@{server.hostname}:{server.port or 5432}/", f"@127.0.0.1:{proxy.port}/")
    # Without the response cache: an answer it kept from before the outage would be served during it, and these
    # tests are about what a request that reaches the database is told.
    gateway = start_gateway(Settings(database_url=url, demo_network=True, sync_scheduler=False, response_cache=False))
    try:
        yield gateway, proxy
    finally:
        proxy.close()
        stop_gateway(gateway)
        database.drop()


CUSTOMERS = "{ customers(first: 1) { totalCount } }"
UPDATE = """
mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { errors { code field } } }
"""


def test_an_unreachable_database_is_service_unavailable(proxied: tuple[RunningGateway, TcpProxy]) -> None:
    gateway, proxy = proxied
    assert "errors" not in gateway.graphql(CUSTOMERS)  # through the proxy while it is open

    proxy.close()

    for _ in range(2):  # the first request meets dropped pooled connections, the next a refused connect
        read = gateway.graphql(CUSTOMERS)
        assert [e["extensions"]["code"] for e in read["errors"]] == ["SERVICE_UNAVAILABLE"], read
        assert "sqlalchemy" not in str(read).lower() and "Traceback" not in str(read)
    written = gateway.graphql(UPDATE, {"input": {"idempotencyKey": "k1", "customerId": "Customer:c", "phone": "1"}})
    assert [e["extensions"]["code"] for e in written["errors"]] == ["SERVICE_UNAVAILABLE"], written
    # The error names the very id the client was answered with (and the gateway logged the failure under).
    response = httpx.post(
        f"{gateway.url}/graphql", json={"query": CUSTOMERS}, headers={**gateway.headers, "X-Request-ID": "outage-1"}
    )
    assert response.headers["x-request-id"] == "outage-1"
    assert [e["extensions"].get("requestId") for e in response.json()["errors"]] == ["outage-1"]
    # A process manager must not restart it (live), a load balancer must send it nothing (not ready).
    assert httpx.get(f"{gateway.url}/health/live").status_code == 200
    ready = httpx.get(f"{gateway.url}/health/ready", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["database"] in ("unreachable", "timeout"), ready.json()
