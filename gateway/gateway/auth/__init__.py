"""Gateway identity and auth: users, companies, memberships, machine clients, bearer tokens.

``install(app, settings)`` registers the routers; ``lifespan(app, settings)`` sets
``app.state.authenticator`` (the :class:`GatewayAuthenticator` the edge calls) and ``app.state.token_signer``, runs the bootstrap and keeps the revocation /
membership caches fresh. The edge also uses ``authorization_from_request`` (bearer header or the
``sessionid`` cookie) and ``SECURITY_SCHEMES``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gridcommons.db import unit_of_work

from ..settings import GatewaySettings
from . import passwords
from .authenticator import GatewayAuthenticator, parse_company_header
from .deps import (
    COMMUNITY_HEADER,
    COMPANY_HEADER,
    COMPANY_SCHEME,
    SECURITY_SCHEME_NAME,
    SECURITY_SCHEMES,
    SESSION_COOKIE,
    authorization_from_request,
    oauth2_scheme,
)
from .ratelimit import LoginThrottle, RegistrationThrottle
from .tokens import TokenSigner, load_signing_key

__all__ = [
    "COMMUNITY_HEADER",
    "COMPANY_HEADER",
    "COMPANY_SCHEME",
    "OPENAPI_TAGS",
    "SECURITY_SCHEMES",
    "SECURITY_SCHEME_NAME",
    "SESSION_COOKIE",
    "GatewayAuthenticator",
    "TokenSigner",
    "authorization_from_request",
    "install",
    "lifespan",
    "oauth2_scheme",
    "parse_company_header",
]

log = logging.getLogger("gateway.auth")

# The gateway's own OpenAPI tags, in the order a user explores them, one line each.
OPENAPI_TAGS = [
    {"name": "auth", "description": "Sign in and out: tokens (OAuth2 on /auth/token), registration, the JWKS."},
    {
        "name": "companies",
        "description": "Companies (tenants) you belong to, their members and roles, their machine clients.",
    },
    {"name": "admin", "description": "Users of the CompanyID company, for its admins (seed 001 admin API)."},
    {"name": "core", "description": "Cookie sessions of the web dashboard (seed 004: CSRF token, login, logout)."},
]


def install(app: FastAPI, settings: GatewaySettings) -> None:
    """Register routers."""
    from .router_admin import admin, gateway
    from .router_auth import router as auth_router
    from .router_auth import wellknown
    from .router_core import router as core_router

    app.state.login_throttle = LoginThrottle(settings)
    app.state.registration_throttle = RegistrationThrottle(settings)
    passwords.configure(settings.password_hash_concurrency)
    for router in (auth_router, wellknown, core_router, admin, gateway):
        app.include_router(router)


async def bootstrap_superuser(app: FastAPI, settings: GatewaySettings, auth: GatewayAuthenticator) -> None:
    from . import service

    spec = settings.bootstrap_superuser
    if not spec:
        return
    username, sep, password = spec.partition(":")
    if not sep or not username or len(password) < 8:
        raise ValueError("GATEWAY_BOOTSTRAP_SUPERUSER must be 'username:password' (password of 8+ characters)")
    async with unit_of_work(app.state.sessionmaker) as session:
        await service.ensure_user(session, auth, username, password, superuser=True)
    log.info("bootstrap superuser %r ensured", username)


@asynccontextmanager
async def lifespan(app: FastAPI, settings: GatewaySettings) -> AsyncIterator[None]:
    signer = TokenSigner(load_signing_key(settings), issuer=settings.token_issuer, audience=settings.token_audience)
    auth = GatewayAuthenticator(signer, app.state.sessionmaker, settings)
    auth.throttle = getattr(app.state, "login_throttle", auth.throttle)
    app.state.token_signer = signer
    app.state.authenticator = auth
    await bootstrap_superuser(app, settings, auth)
    await auth.load_revocations()
    stop = asyncio.Event()
    task = asyncio.create_task(auth.run(stop), name="gateway-auth-sync")
    try:
        yield
    finally:
        stop.set()
        await task
