"""GraphiQL at /graphql in a real headless Chromium, with every request off 127.0.0.1 blocked."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Route, WebSocket, expect, sync_playwright

from conftest import RunningGateway

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCATIONS_QUERY = "{ locations(first: 3) { totalCount nodes { name } } }"
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
EXECUTE_BUTTON = ".graphiql-execute-button"
RESULT_PANE = ".result-window"
ASSET_COUNT = 6  # react, react-dom, graphiql js + css, explorer plugin js + css


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class OfflinePage:
    """A page that may only reach 127.0.0.1; records what else was tried and every error."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.asset_statuses: dict[str, int] = {}
        self.context.route("**/*", self._route)
        self.page.on("websocket", self._websocket)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("requestfailed", lambda req: self.errors.append(f"requestfailed: {req.url}"))
        self.page.on("response", lambda r: self._asset(r.url, r.status))

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname != "127.0.0.1":
            self.blocked.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def _websocket(self, ws: WebSocket) -> None:
        if urlsplit(ws.url).hostname != "127.0.0.1":
            self.blocked.append(ws.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _asset(self, url: str, status: int) -> None:
        if "/graphiql/assets/" in url:
            self.asset_statuses[url] = status

    def open_graphiql(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        expect(self.page.locator(QUERY_EDITOR)).to_be_visible()

    def assert_offline_and_clean(self) -> None:
        assert self.blocked == [], f"requests off 127.0.0.1 were attempted: {self.blocked}"
        assert self.errors == [], f"errors in the page (SRI, script, network): {self.errors}"
        assert len(self.asset_statuses) == ASSET_COUNT, self.asset_statuses
        assert set(self.asset_statuses.values()) == {200}, self.asset_statuses


@pytest.fixture
def offline(browser: Browser) -> Iterator[OfflinePage]:
    page = OfflinePage(browser)
    try:
        yield page
    finally:
        page.context.close()


def test_graphiql_renders_from_local_assets_only(sqlite_gateway: RunningGateway, offline: OfflinePage) -> None:
    # The page itself is public; what it asks the API needs the token.
    offline.open_graphiql(f"{sqlite_gateway.url}/graphql")
    expect(offline.page).to_have_title("Booking network gateway — GraphiQL")
    expect(offline.page.locator(EXECUTE_BUTTON)).to_be_visible()
    offline.assert_offline_and_clean()


def test_query_runs_through_the_ui(sqlite_gateway: RunningGateway, offline: OfflinePage) -> None:
    # The API itself says which names to expect.
    api = offline.page.request.post(
        f"{sqlite_gateway.url}/graphql", data={"query": LOCATIONS_QUERY}, headers=sqlite_gateway.headers
    )
    assert api.ok, api.text()
    names = [node["name"] for node in api.json()["data"]["locations"]["nodes"]]
    assert names, "the demo network has no locations"
    # "q", as in strawberry's page: GET /graphql?query=... runs the query instead of serving GraphiQL.
    # The README's way in: the token in the Headers tab, here given through the page's `headers` parameter.
    headers = json.dumps(sqlite_gateway.headers)
    offline.open_graphiql(f"{sqlite_gateway.url}/graphql?q={quote(LOCATIONS_QUERY)}&headers={quote(headers)}")
    expect(offline.page.locator(QUERY_EDITOR)).to_contain_text("totalCount")
    offline.page.locator(EXECUTE_BUTTON).click()
    result = offline.page.locator(RESULT_PANE)
    expect(result).to_contain_text("totalCount")
    expect(result).to_contain_text(names[0])
    offline.assert_offline_and_clean()
