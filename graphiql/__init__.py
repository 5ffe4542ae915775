"""GraphiQL served entirely by the gateway, with no internet access needed.

The browser assets come from the npm registry at install time
(``npm ci --prefix graphiql``, pinned by ``graphiql/package-lock.json``) and
are never committed.  Each served file is pinned twice more by its sha384 SRI
hash: :func:`check_assets` refuses a missing, tampered or wrong-version file
at start-up, the app only ever serves bytes that matched the hash, and the
page carries the same hash in ``integrity=`` so the browser checks it too.
The hashes are the ones strawberry-graphql publishes for the same versions.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router

__all__ = [
    "ASSETS",
    "ASSETS_DIR",
    "Asset",
    "GraphiQLAssetsIntegrityError",
    "GraphiQLAssetsMissingError",
    "assets_app",
    "check_assets",
    "graphiql_html",
]

ASSETS_DIR: Path = Path(__file__).resolve().parent / "node_modules"

INSTALL_HINT = "run `npm ci --prefix graphiql` (scripts/install_graphiql.sh)"

CACHE_CONTROL = "public, max-age=31536000, immutable"

_JS = "text/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Asset:
    """One browser file taken from an installed npm package."""

    package: str
    version: str
    file: str
    integrity: str
    media_type: str

    @property
    def path(self) -> str:
        """Path relative to ``ASSETS_DIR`` (``node_modules``)."""
        return f"{self.package}/{self.file}"

    @property
    def url_path(self) -> str:
        """Path under the assets mount; versioned, so it can be cached forever."""
        return f"{self.package}@{self.version}/{self.file}"


# Load order matters: React before ReactDOM before GraphiQL before the plugin.
ASSETS: tuple[Asset, ...] = (
    Asset(
        package="react",
        version="18.2.0",
        file="umd/react.production.min.js",
        integrity="sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
        media_type=_JS,
    ),
    Asset(
        package="react-dom",
        version="18.2.0",
        file="umd/react-dom.production.min.js",
        integrity="sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
        media_type=_JS,
    ),
    Asset(
        package="graphiql",
        version="3.8.3",
        file="graphiql.min.css",
        integrity="sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
        media_type=_CSS,
    ),
    Asset(
        package="@graphiql/plugin-explorer",
        version="1.0.2",
        file="dist/style.css",
        integrity="sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
        media_type=_CSS,
    ),
    Asset(
        package="graphiql",
        version="3.8.3",
        file="graphiql.min.js",
        integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
        media_type=_JS,
    ),
    Asset(
        package="@graphiql/plugin-explorer",
        version="1.0.2",
        file="dist/index.umd.js",
        integrity="sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
        media_type=_JS,
    ),
)


class GraphiQLAssetsMissingError(RuntimeError):
    """A GraphiQL asset is not installed (or not usable)."""


class GraphiQLAssetsIntegrityError(GraphiQLAssetsMissingError):
    """A GraphiQL asset is installed but its sha384 is not the pinned one."""


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


# Verified bytes, keyed by (resolved file path, pinned integrity).
_verified: dict[tuple[Path, str], bytes] = {}


def _key(asset: Asset) -> tuple[Path, str]:
    return (ASSETS_DIR / asset.path, asset.integrity)


def _load(asset: Asset) -> bytes:
    """Read one asset and check it against its pinned hash; cache on success."""
    key = _key(asset)
    cached = _verified.get(key)
    if cached is not None:
        return cached
    file = key[0]
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise GraphiQLAssetsMissingError(
            f"GraphiQL asset {asset.package}@{asset.version}/{asset.file} is missing ({file}); {INSTALL_HINT}"
        ) from None
    except OSError as exc:
        raise GraphiQLAssetsMissingError(f"GraphiQL asset {file} cannot be read ({exc}); {INSTALL_HINT}") from exc
    actual = _sri(data)
    if actual != asset.integrity:
        raise GraphiQLAssetsIntegrityError(
            f"GraphiQL asset {file} does not match the pinned "
            f"{asset.package}@{asset.version}: expected {asset.integrity}, "
            f"got {actual}; {INSTALL_HINT}"
        )
    _verified[key] = data
    return data


def check_assets() -> None:
    """Check every needed asset exists and matches its pinned sha384.

    Raises GraphiQLAssetsMissingError (or its subclass
    GraphiQLAssetsIntegrityError for a hash mismatch) naming every bad file.
    """
    problems: list[GraphiQLAssetsMissingError] = []
    for asset in ASSETS:
        try:
            _load(asset)
        except GraphiQLAssetsMissingError as exc:
            problems.append(exc)
    if not problems:
        return
    if len(problems) == 1:
        raise problems[0]
    message = "\n".join(str(p) for p in problems)
    if all(isinstance(p, GraphiQLAssetsIntegrityError) for p in problems):
        raise GraphiQLAssetsIntegrityError(message)
    raise GraphiQLAssetsMissingError(message)


def _tag(asset: Asset, assets_url: str) -> str:
    src = html.escape(f"{assets_url.rstrip('/')}/{asset.url_path}", quote=True)
    sri = html.escape(asset.integrity, quote=True)
    if asset.media_type == _CSS:
        return f'<link rel="stylesheet" crossorigin="anonymous" href="{src}" integrity="{sri}" />'
    return f'<script crossorigin="anonymous" src="{src}" integrity="{sri}"></script>'


def graphiql_html(endpoint: str = "/graphql", assets_url: str = "/graphiql/assets") -> str:
    """The GraphiQL page, every asset served from ``assets_url`` with SRI."""
    head = "\n    ".join(_tag(a, assets_url) for a in ASSETS if a.media_type == _CSS)
    head_js = "\n    ".join(_tag(a, assets_url) for a in ASSETS if a.package in ("react", "react-dom"))
    body_js = "\n    ".join(
        _tag(a, assets_url) for a in ASSETS if a.media_type == _JS and a.package not in ("react", "react-dom")
    )
    endpoint_js = json.dumps(endpoint).replace("<", "\\u003c").replace(">", "\\u003e")
    return (
        _TEMPLATE.replace("__HEAD_JS__", head_js)
        .replace("__HEAD_CSS__", head)
        .replace("__BODY_JS__", body_js)
        .replace("__ENDPOINT__", endpoint_js)
        .replace("__FAVICON__", html.escape(_FAVICON, quote=True))
    )


def assets_app() -> Router:
    """ASGI app serving exactly the whitelisted assets (404 for anything else).

    URLs are ``<mount>/<package>@<version>/<file>``; the versioned path makes
    the long immutable Cache-Control safe across upgrades.  Only bytes that
    matched the pinned hash are ever sent.
    """

    def endpoint_for(asset: Asset) -> Route:
        etag = f'"{asset.integrity}"'

        async def serve(request: Request) -> Response:
            headers = {
                "Cache-Control": CACHE_CONTROL,
                "ETag": etag,
                "X-Content-Type-Options": "nosniff",
            }
            if etag in request.headers.get("if-none-match", ""):
                return Response(status_code=304, headers=headers)
            try:
                data = _verified.get(_key(asset))
                if data is None:
                    data = await anyio.to_thread.run_sync(_load, asset)
            except GraphiQLAssetsMissingError as exc:
                return PlainTextResponse(str(exc), status_code=503)
            return Response(data, media_type=asset.media_type, headers=headers)

        return Route(f"/{asset.url_path}", serve, methods=["GET", "HEAD"])

    return Router(routes=[endpoint_for(a) for a in ASSETS])


# Inline icon (bellhop bell emoji): the page makes no request it doesn't need.
_FAVICON = "data:image/svg+xml," + quote(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
    '<text y=".9em" font-size="80">\U0001f6ce\ufe0f</text></svg>'
)

_TEMPLATE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Booking network gateway — GraphiQL</title>
    <link rel="icon" href="__FAVICON__" />
    <style>
      body {
        height: 100%;
        margin: 0;
        width: 100%;
        overflow: hidden;
      }

      #graphiql {
        height: 100vh;
        display: flex;
      }

      .docExplorerHide {
        display: none;
      }

      .doc-explorer-contents {
        overflow-y: hidden !important;
      }

      .docExplorerWrap {
        width: unset !important;
        min-width: unset !important;
      }

      .graphiql-explorer-actions select {
        margin-left: 4px;
      }
    </style>
    __HEAD_JS__
    __HEAD_CSS__
  </head>

  <body>
    <div id="graphiql" class="graphiql-container">Loading...</div>
    __BODY_JS__
    <script>
      const EXAMPLE_QUERY = `# Welcome to GraphiQL for the booking network gateway
#
# GraphiQL is an in-browser tool for writing, validating, and
# testing GraphQL queries.
#
# Type queries into this side of the screen, and you will see intelligent
# typeaheads aware of the current GraphQL type schema and live syntax and
# validation errors highlighted within the text.
#
# An example query:
#
#     {
#       locations(first: 3) {
#         totalCount
#         nodes { name }
#       }
#     }
#
# Keyboard shortcuts:
#
#       Run Query:  Ctrl-Enter (or press the play button above)
#
#   Auto Complete:  Ctrl-Space (or just start typing)
#
`;

      // URL parameters for sharing queries.  "q" is what strawberry's page
      // uses (GET /graphql?query=... executes the query instead of serving
      // this page); "query" is accepted too.
      const parameters = {};
      for (const [key, value] of new URLSearchParams(window.location.search)) {
        parameters[key] = value;
      }

      function updateURL(data) {
        Object.assign(parameters, data);
        const search = new URLSearchParams();
        for (const key of Object.keys(parameters)) {
          if (parameters[key]) {
            search.set(key, parameters[key]);
          }
        }
        const text = search.toString();
        history.replaceState(null, "", text ? "?" + text : window.location.pathname);
      }

      const fetchURL = new URL(__ENDPOINT__, window.location.href);
      fetchURL.hash = "";

      function httpUrlToWebSocketUrl(url) {
        const parsedURL = new URL(url);
        parsedURL.protocol = parsedURL.protocol === "http:" ? "ws:" : "wss:";
        parsedURL.hash = "";
        return parsedURL.toString();
      }

      const fetcher = GraphiQL.createFetcher({
        url: fetchURL.toString(),
        subscriptionUrl: httpUrlToWebSocketUrl(fetchURL),
      });

      const explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

      function GraphiQLWithExplorer() {
        const [query, setQuery] = React.useState(
          parameters.q || parameters.query || EXAMPLE_QUERY,
        );
        const [variables, setVariables] = React.useState(parameters.variables);
        const [headers, setHeaders] = React.useState(parameters.headers);

        function onEditQuery(newQuery) {
          setQuery(newQuery);
          updateURL({ q: newQuery, query: "" });
        }

        function onEditVariables(newVariables) {
          setVariables(newVariables);
          updateURL({ variables: newVariables });
        }

        function onEditHeaders(newHeaders) {
          setHeaders(newHeaders);
        }

        return React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultEditorToolsVisibility: true,
          plugins: [explorerPlugin],
          query: query,
          variables: variables,
          headers: headers,
          onEditQuery: onEditQuery,
          onEditVariables: onEditVariables,
          onEditHeaders: onEditHeaders,
          inputValueDeprecation: true,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
        });
      }

      const root = ReactDOM.createRoot(document.getElementById("graphiql"));
      root.render(React.createElement(GraphiQLWithExplorer));
    </script>
  </body>
</html>
"""
