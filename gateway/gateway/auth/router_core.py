"""Seed 004 core API (/api/core/*) mapped onto the gateway's tokens: the "session" is a 14-day
``session`` token carried in the ``sessionid`` cookie (valid only as that cookie, never as an
``Authorization: Bearer`` header). Error bodies are plain text, as in the seed.

Logout is ``POST /api/core/logout`` with the CSRF token (the seed's ``GET`` let any site log a
user out); ``GET`` still logs out a token sent in an ``Authorization`` header (no other site can
send one) and answers 405 to a cookie alone."""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from gridcommons.db import SessionDep
from gridcommons.errors import DomainError
from gridcommons.timeutil import iso_utc

from ..principal import Principal
from . import service
from .authenticator import CookieSession
from .deps import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, AddressDep, AuthDep, ThrottleDep, authorization_from_request
from .schemas import CsrfToken, SessionInfo, SessionUser

router = APIRouter(prefix="/api/core", tags=["core"])

TEXT_403: dict[int | str, dict[str, Any]] = {
    403: {"content": {"text/plain": {}}, "description": "login failed / login required"}
}


def _session_info(token: str, expires_at: datetime, user: dict) -> SessionInfo:
    return SessionInfo(
        sessionid=token,
        expiry_age=max(0, int(expires_at.timestamp() - time.time())),
        expiry_date=iso_utc(expires_at, timespec="seconds"),
        user=SessionUser.from_row(user),
    )


def _csrf_ok(request: Request, form_token: str | None) -> bool:
    """Double submit: the ``csrftoken`` cookie equals the form field or the X-CSRFToken header."""
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = form_token or request.headers.get(CSRF_HEADER.lower()) or ""
    return bool(cookie) and bool(sent) and hmac.compare_digest(cookie.encode(), sent.encode())


def _valid_csrf(value: str | None) -> bool:
    return bool(value) and 16 <= len(value or "") <= 128 and (value or "").replace("-", "").replace("_", "").isalnum()


@router.get("/csrftoken", response_model=CsrfToken)
async def csrftoken(request: Request) -> JSONResponse:
    """A CSRF token for POST /api/core/login (double submit: form field + ``csrftoken`` cookie)."""
    token = request.cookies.get(CSRF_COOKIE) or ""
    if not _valid_csrf(token):
        token = secrets.token_urlsafe(32)
    response = JSONResponse({"csrfmiddlewaretoken": token}, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        CSRF_COOKIE, token, max_age=31_449_600, samesite="lax", secure=request.app.state.settings.cookie_secure
    )
    return response


@router.post(
    "/login",
    response_model=SessionInfo,
    responses={
        400: {"description": "CSRF failure (empty body)"},
        **TEXT_403,
        429: {"description": "Too many failed attempts (Retry-After)"},
    },
)
async def login(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    throttle: ThrottleDep,
    address: AddressDep,
    username: Annotated[str | None, Form(description="Login name.")] = None,
    password: Annotated[str | None, Form(description="Password.")] = None,
    csrfmiddlewaretoken: Annotated[
        str | None,
        Form(
            description="CSRF token: the value of the `csrftoken` cookie from GET /api/core/csrf (or send X-CSRFToken)."
        ),
    ] = None,
) -> Response:
    """Log in with a form; sets the ``sessionid`` cookie (HttpOnly, SameSite=Lax). The session token
    (also in the body as ``sessionid``, as in seed 004) is valid only as that cookie. Other
    sessions of the user stay valid."""
    if not _csrf_ok(request, csrfmiddlewaretoken):
        return Response(status_code=400)
    if not username or not password:
        return PlainTextResponse("login failed", status_code=403)
    try:
        login = await service.password_login(session, auth, throttle, username, password, address, session_token=True)
    except service.BadCredentials:
        return PlainTextResponse("login failed", status_code=403)
    issued = login.token
    info = _session_info(issued.token, issued.expires_at, login.user)
    response = JSONResponse(info.model_dump(), headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=auth.settings.session_token_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=auth.settings.cookie_secure,
    )
    return response


async def _session_principal(request: Request, auth: AuthDep) -> tuple[Principal, str] | None:
    """The principal of the ``sessionid`` cookie (the caller checked the CSRF token)."""
    token = request.cookies.get(SESSION_COOKIE) or ""
    try:
        principal = await auth.authenticate(CookieSession(f"Bearer {token}"))
    except DomainError:
        return None
    return (principal, token) if principal.kind == "user" else None


async def _principal_or_none(request: Request, auth: AuthDep) -> tuple[Principal, str] | None:
    try:
        header = authorization_from_request(request.method, request.headers, request.cookies)
        principal = await auth.authenticate(header)
    except DomainError:
        return None
    if principal.kind != "user" or header is None:
        return None
    return principal, header.split(" ", 1)[1].strip()


@router.get("/session", response_model=SessionInfo, responses=TEXT_403)
async def session_info(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    """The current session (bearer header or ``sessionid`` cookie); 403 ``login required`` otherwise."""
    found = await _principal_or_none(request, auth)
    if found is None:
        return PlainTextResponse("login required", status_code=403)
    principal, token = found
    user = await service.get_user(session, int(principal.subject))
    return JSONResponse(
        _session_info(token, principal.expires_at, user).model_dump(), headers={"Cache-Control": "no-store"}
    )


def _logged_out(auth: AuthDep) -> Response:
    response = Response(status_code=200)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=auth.settings.cookie_secure)
    return response


@router.post(
    "/logout",
    response_class=Response,
    responses={200: {"description": "Empty body"}, 400: {"description": "CSRF failure (empty body)"}},
)
async def logout(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    csrfmiddlewaretoken: Annotated[
        str | None,
        Form(
            description="CSRF token: the value of the `csrftoken` cookie from GET /api/core/csrf (or send X-CSRFToken)."
        ),
    ] = None,
) -> Response:
    """Revoke the session's token (if any) and clear the cookie; 200 with an empty body. With the
    ``sessionid`` cookie, the CSRF token is required (form ``csrfmiddlewaretoken`` or
    ``X-CSRFToken`` equal to the ``csrftoken`` cookie), else 400 and nothing changes."""
    if "authorization" not in request.headers and request.cookies.get(SESSION_COOKIE):
        if not _csrf_ok(request, csrfmiddlewaretoken):
            return Response(status_code=400)
        found = await _session_principal(request, auth)
    else:
        found = await _principal_or_none(request, auth)
    if found is not None:
        await service.logout(session, auth, found[0])
    return _logged_out(auth)


@router.get(
    "/logout",
    response_class=Response,
    responses={200: {"description": "Empty body"}, 405: {"description": "Cookie alone: use POST with the CSRF token"}},
)
async def logout_get(request: Request, session: SessionDep, auth: AuthDep) -> Response:
    """Seed 004 compatibility, only where no other site can trigger it: a token in the
    ``Authorization`` header is revoked (200). The ``sessionid`` cookie alone is not logged out
    (405, ``Allow: POST``): use ``POST /api/core/logout`` with the CSRF token."""
    if "authorization" not in request.headers and request.cookies.get(SESSION_COOKIE):
        return PlainTextResponse(
            "use POST /api/core/logout with the CSRF token", status_code=405, headers={"Allow": "POST"}
        )
    found = await _principal_or_none(request, auth)
    if found is not None:
        await service.logout(session, auth, found[0])
    return Response(status_code=200)
