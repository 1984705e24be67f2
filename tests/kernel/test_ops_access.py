"""Operations endpoints of a service: /metrics and /openapi.json answer allowed peers (default
loopback), the gateway's internal identity (documents only) or, with public_docs, anyone. A service
serves no Swagger UI page (the gateway's /docs is the only one, with pinned assets)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI

from gridcommons.app import DOCS_READER, create_service_app
from gridcommons.identity import (
    INTERNAL_IDENTITY_HEADER,
    Identity,
    IdentitySigner,
    IdentityVerifier,
    generate_ed25519_pem,
)
from gridcommons.settings import ServiceSettings

PRIVATE, PUBLIC = generate_ed25519_pem()
SIGNER = IdentitySigner(PRIVATE)


def _app(**settings: object) -> FastAPI:
    router = APIRouter()

    @router.get("/api/things")
    async def things() -> list[int]:
        return [1]

    app = create_service_app(
        name="ops-test", title="Ops test", settings=ServiceSettings(**settings), routers=[router], configure_logs=False
    )
    app.state.identity_verifier = IdentityVerifier(PUBLIC)
    return app


def _client(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://service")


async def test_ops_endpoints_refuse_strangers() -> None:
    app = _app()
    async with _client(app, "203.0.113.5") as stranger:
        for path in ("/metrics", "/openapi.json", "/docs", "/redoc"):
            r = await stranger.get(path)
            assert r.status_code == 404, path
        assert (await stranger.get("/healthz")).status_code == 200  # probes stay open
        # the gateway's identity reads the document (not the metrics); a user's identity does not
        gateway = {INTERNAL_IDENTITY_HEADER: SIGNER.sign(DOCS_READER)}
        r = await stranger.get("/openapi.json", headers=gateway)
        assert r.status_code == 200 and "/api/things" in r.json()["paths"]
        assert (await stranger.get("/metrics", headers=gateway)).status_code == 404
        user = Identity(subject="1", kind="user", company_id=None)
        assert (
            await stranger.get("/openapi.json", headers={INTERNAL_IDENTITY_HEADER: SIGNER.sign(user)})
        ).status_code == 404
        assert (await stranger.get("/openapi.json", headers={INTERNAL_IDENTITY_HEADER: "forged"})).status_code == 404
    async with _client(app, "127.0.0.1") as local:
        for path in ("/metrics", "/openapi.json"):
            assert (await local.get(path)).status_code == 200, path
        assert (await local.get("/docs")).status_code == 404


async def test_ops_settings() -> None:
    app = _app(public_docs=True, ops_allow_from=["203.0.113.0/24"])
    async with _client(app, "198.51.100.1") as anyone:
        assert (await anyone.get("/openapi.json")).status_code == 200
        r = await anyone.get("/docs")
        assert r.status_code == 404 and "cdn" not in r.text.lower()
        assert (await anyone.get("/metrics")).status_code == 404
    async with _client(app, "203.0.113.77") as scraper:
        assert (await scraper.get("/metrics")).status_code == 200
    async with _client(app, "127.0.0.1") as local:  # the list replaces the loopback default
        assert (await local.get("/metrics")).status_code == 404
