"""The Swagger UI at ``GET /docs``, served entirely by the gateway (no CDN, no other site).

The Swagger UI files are the npm package ``swagger-ui-dist`` at one pinned version, vendored
unchanged in ``static/swagger-ui`` (``gateway/scripts/vendor-swagger-ui.sh`` refreshes them; the
``VERSION`` file names the version and their sha256). Beside them, the project's own
``static/docs.js`` (the Swagger UI configuration: sign-in handling, CompanyID, expired sessions)
and ``static/docs.css``.

Every asset is served under ``/docs/assets/<digest>/<name>``, where the digest covers all of them:
a new release gets new URLs, so the assets are cacheable for a year (``immutable``), while the
page itself (``/docs``) is revalidated on every load. An old digest (a page from before an
upgrade) still gets the current files, but uncached. The page sends a Content-Security-Policy
that allows scripts, styles, images and requests from the gateway itself only.
"""

from __future__ import annotations

import gzip
import hashlib
import html
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

STATIC = Path(__file__).parent / "static"
SWAGGER_UI = STATIC / "swagger-ui"
SWAGGER_UI_VERSION = (SWAGGER_UI / "VERSION").read_text().splitlines()[0].split()[-1]

ASSET_PATH = "/docs/assets"
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",
}


@dataclass
class Asset:
    body: bytes
    media_type: str
    _gzipped: bytes | None = field(default=None, repr=False)

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


def load_assets() -> dict[str, Asset]:
    """Name → asset: the vendored Swagger UI files and the project's own docs.js / docs.css."""
    files = {p.name: p for p in SWAGGER_UI.iterdir() if p.is_file()}
    files.update({name: STATIC / name for name in ("docs.js", "docs.css")})
    return {
        name: Asset(path.read_bytes(), MEDIA_TYPES.get(path.suffix, "application/octet-stream"))
        for name, path in sorted(files.items())
    }


def assets_digest(assets: dict[str, Asset]) -> str:
    h = hashlib.sha256()
    for name, asset in sorted(assets.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(asset.body).digest())
    return h.hexdigest()[:16]


def docs_page(title: str, base: str) -> str:
    """The /docs page: no inline script (the configuration is in docs.js)."""
    t = html.escape(title)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
<link rel="stylesheet" href="{base}/swagger-ui.css">
<link rel="stylesheet" href="{base}/docs.css">
</head>
<body>
<div id="gc-session-banner" class="gc-banner" role="alert" hidden>
<span class="gc-banner-text"></span>
<button type="button" class="gc-banner-signin">Sign in again</button>
<button type="button" class="gc-banner-close" aria-label="Dismiss">×</button>
</div>
<div id="swagger-ui" data-openapi-url="{OPENAPI_URL}" data-oauth2-redirect-url="{OAUTH2_REDIRECT_URL}"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/docs.js"></script>
</body>
</html>
"""


def install(app: FastAPI) -> None:
    """GET /docs, GET /docs/assets/<digest>/<name>, GET /docs/oauth2-redirect (+ its script)."""
    assets = load_assets()
    digest = assets_digest(assets)
    base = f"{ASSET_PATH}/{digest}"
    page = docs_page(f"{app.title} - Swagger UI", base).encode()
    page_headers = {"Cache-Control": REVALIDATE, "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}

    def serve(request: Request, asset: Asset, cache_control: str) -> Response:
        headers = {"Cache-Control": cache_control, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
        accepts_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
        if accepts_gzip and len(asset.body) > 1024 and not asset.media_type.startswith("image/"):
            headers["Content-Encoding"] = "gzip"
            return Response(asset.gzipped(), media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page, headers=page_headers)

    @app.get(ASSET_PATH + "/{version}/{name}", include_in_schema=False)
    async def docs_asset(request: Request, version: str, name: str) -> Response:
        asset = assets.get(name)
        if asset is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404, headers={"Cache-Control": REVALIDATE})
        return serve(request, asset, LONG_CACHE if version == digest else REVALIDATE)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def oauth2_redirect(request: Request) -> Response:
        # swagger-ui-dist's own page; it loads ./oauth2-redirect.js, served below.
        return HTMLResponse(assets["oauth2-redirect.html"].body, headers=page_headers)

    @app.get(OAUTH2_REDIRECT_URL + ".js", include_in_schema=False)
    async def oauth2_redirect_js(request: Request) -> Response:
        return serve(request, assets["oauth2-redirect.js"], REVALIDATE)
