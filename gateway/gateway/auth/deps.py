"""FastAPI dependencies of the gateway's own endpoints, and the helpers the edge reuses."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowPassword, OAuthFlows
from fastapi.security import APIKeyHeader, OAuth2

from gridcommons.errors import Forbidden
from gridcommons.identity import TenantIdentity

from ..principal import Principal
from .authenticator import MAX_COMPANY_ID, CookieSession, GatewayAuthenticator
from .ratelimit import LoginThrottle, RegistrationThrottle

TOKEN_URL = "/auth/token"
SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRFToken"
COMPANY_HEADER = "CompanyID"
COMMUNITY_HEADER = "CommunityId"  # alias used by the system behind seed 000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# The security schemes of the merged OpenAPI document (Swagger's "Authorize" dialog), one place.
# People and machines get separate OAuth2 schemes (one flow each, no scopes), so signing in
# through one does not show the other as authorized; CompanyID is an API key in a header, so the
# dialog holds it once for every tenant operation.
PASSWORD_SCHEME = "PasswordLogin"
CLIENT_SCHEME = "MachineClient"
BEARER_SCHEME = "BearerAuth"
COMPANY_SCHEME = "CompanyID"
SECURITY_SCHEME_NAME = PASSWORD_SCHEME  # the scheme FastAPI declares on the gateway's own operations

# auto_error=False: the Authenticator answers 401 itself.
oauth2_scheme = OAuth2(
    flows=OAuthFlows(password=OAuthFlowPassword(tokenUrl=TOKEN_URL, scopes={})),
    scheme_name=PASSWORD_SCHEME,
    description="**People**: sign in with your username and password (OAuth2 password grant on "
    "`POST /auth/token`). The token lasts an hour; the docs page renews it with the refresh token, and "
    "asks you to sign in again when the session has ended.",
    auto_error=False,
)
company_scheme = APIKeyHeader(
    name=COMPANY_HEADER,
    scheme_name=COMPANY_SCHEME,
    description="The company (tenant) a tenant-scoped operation acts in: its numeric id, an integer from 1 to "
    f"{MAX_COMPANY_ID} (`GET /api/gateway/companies` lists yours). Sent as the `CompanyID` header "
    "(the gateway also accepts it as `CommunityId`); the caller must be a member. Missing or not such an "
    "integer: 400; not a member, or no such company: 403.",
    auto_error=False,
)
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    PASSWORD_SCHEME: oauth2_scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True),
    COMPANY_SCHEME: company_scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True),
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token obtained elsewhere (`POST /auth/token`, `/auth/login` or `/auth/register`), "
        "pasted as is.",
    },
    CLIENT_SCHEME: {
        "type": "oauth2",
        "description": "**Machines** (devices, field gateways, data-hub workers): the `client_id` and "
        "`client_secret` of a machine client (`POST /api/gateway/machine-clients`), OAuth2 client_credentials "
        "grant on `POST /auth/token`. Machine clients may use the ingestion operations only.",
        "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": {}}},
    },
}


def authorization_from_request(method: str, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The credentials of a request as an ``Authorization`` header value.

    ``Authorization`` wins; otherwise the ``sessionid`` cookie set by /api/core/login is used
    (marked :class:`CookieSession`: a session token is accepted from the cookie only). A cookie-authenticated unsafe request (POST, PUT, PATCH, DELETE) must carry
    ``X-CSRFToken`` equal to the ``csrftoken`` cookie (double submit), else 403.
    """
    header = headers.get("authorization")
    if header:
        return header
    session = cookies.get(SESSION_COOKIE)
    if not session:
        return None
    if method.upper() not in SAFE_METHODS:
        sent, cookie = headers.get(CSRF_HEADER.lower()) or "", cookies.get(CSRF_COOKIE) or ""
        if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
            raise Forbidden("CSRF check failed: send X-CSRFToken equal to the csrftoken cookie")
    return CookieSession(f"Bearer {session}")


def get_authenticator(request: Request) -> GatewayAuthenticator:
    return request.app.state.authenticator  # type: ignore[no-any-return]


def get_throttle(request: Request) -> LoginThrottle:
    return request.app.state.login_throttle  # type: ignore[no-any-return]


def get_registration_throttle(request: Request) -> RegistrationThrottle:
    return request.app.state.registration_throttle  # type: ignore[no-any-return]


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, or (behind ``trusted_proxies``) the right-most
    X-Forwarded-For hop that is not a trusted proxy; the gateway app's outermost middleware
    (uvicorn's ProxyHeadersMiddleware, configured from ``GATEWAY_TRUSTED_PROXIES``) resolves it."""
    return request.client.host[:64] if request.client else "unknown"


AuthDep = Annotated[GatewayAuthenticator, Depends(get_authenticator)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
RegistrationThrottleDep = Annotated[RegistrationThrottle, Depends(get_registration_throttle)]
AddressDep = Annotated[str, Depends(client_address)]


async def current_principal(
    request: Request, auth: AuthDep, _token: Annotated[str | None, Security(oauth2_scheme)] = None
) -> Principal:
    return await auth.authenticate(authorization_from_request(request.method, request.headers, request.cookies))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def company_header(
    request: Request, _declared: Annotated[str | None, Security(company_scheme)] = None
) -> str | None:
    """The raw ``CompanyID`` (or its alias ``CommunityId``) header; declared once, as the CompanyID security scheme."""
    return request.headers.get(COMPANY_HEADER) or request.headers.get(COMMUNITY_HEADER)


CompanyHeaderDep = Annotated[str | None, Depends(company_header)]


async def company_identity(principal: PrincipalDep, auth: AuthDep, company: CompanyHeaderDep) -> TenantIdentity:
    return await auth.identity_for(principal, company)


CompanyIdentityDep = Annotated[TenantIdentity, Depends(company_identity)]
