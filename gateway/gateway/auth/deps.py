"""FastAPI dependencies of the gateway's own endpoints, and the helpers the edge reuses."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2

from gridcommons.errors import Forbidden
from gridcommons.identity import Identity

from ..principal import Principal
from .authenticator import CookieSession, GatewayAuthenticator
from .ratelimit import LoginThrottle, RegistrationThrottle

TOKEN_URL = "/auth/token"
SECURITY_SCHEME_NAME = "OAuth2"
SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRFToken"
COMPANY_HEADER = "CompanyID"
COMMUNITY_HEADER = "CommunityId"  # alias used by the system behind seed 000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# Swagger's "Authorize" button: password flow for people, client_credentials for machines, both
# against POST /auth/token. auto_error=False: the Authenticator answers 401 itself.
oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl=TOKEN_URL),
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL),
    ),
    scheme_name=SECURITY_SCHEME_NAME,
    description="Bearer JWT from POST /auth/token (password or client_credentials grant), /auth/login or /auth/register.",
    auto_error=False,
)
# For the merged OpenAPI document: components.securitySchemes entries.
SECURITY_SCHEMES = {SECURITY_SCHEME_NAME: oauth2_scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)}


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


def company_header_value(headers: Mapping[str, str]) -> str | None:
    """``CompanyID``, or its alias ``CommunityId``."""
    return headers.get(COMPANY_HEADER.lower()) or headers.get(COMMUNITY_HEADER.lower())


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

CompanyHeader = Annotated[
    str | None, Header(alias=COMPANY_HEADER, description="The company (tenant) the request acts in")
]
CommunityHeader = Annotated[str | None, Header(alias=COMMUNITY_HEADER, description="Alias of CompanyID")]


async def company_identity(
    principal: PrincipalDep, auth: AuthDep, company: CompanyHeader = None, community: CommunityHeader = None
) -> Identity:
    return await auth.identity_for(principal, company or community)


CompanyIdentityDep = Annotated[Identity, Depends(company_identity)]
