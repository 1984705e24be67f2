"""Seed 001 AuthAPI (/auth/register, /auth/login, /auth/logout, /auth/info), the OAuth2 token
endpoint (/auth/token, with refresh tokens), the password change (/auth/password) and the JWKS."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic.json_schema import SkipJsonSchema

from gridcommons.db import SessionDep
from gridcommons.describe import explain_values
from gridcommons.errors import DomainError

from . import service
from .deps import AddressDep, AuthDep, PrincipalDep, RegistrationThrottleDep, ThrottleDep
from .schemas import (
    AuthResponse,
    LoginRequest,
    OAuthError,
    PasswordChange,
    RegisterRequest,
    TokenResponse,
    UserOut,
)

router = APIRouter(prefix="/auth", tags=["auth"])
wellknown = APIRouter(tags=["auth"])

BAD_LOGIN = "Unable to log in with provided credentials."
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The grants /auth/token answers (any other is a 400 unsupported_grant_type).
GRANT_MEANINGS = {
    "password": "a person signs in with username and password (also returns a refresh token)",
    "client_credentials": "a machine client signs in with client_id and client_secret",
    "refresh_token": "renews a password-grant token with its refresh token (RFC 6749 §6; rotates it)",
}
OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthError, "description": "invalid_request, invalid_grant, unsupported_grant_type"},
    401: {"model": OAuthError, "description": "invalid_client"},
    429: {"description": "Too many failed attempts (Retry-After)"},
}


def _auth_response(login: service.Login) -> AuthResponse:
    return AuthResponse(user=UserOut.from_row(login.user), token=login.token.token)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=AuthResponse,
    responses={409: {"description": "Username taken"}, 429: {"description": "Too many registrations (Retry-After)"}},
)
async def register(
    body: RegisterRequest,
    session: SessionDep,
    auth: AuthDep,
    throttle: RegistrationThrottleDep,
    address: AddressDep,
) -> AuthResponse:
    """Register a new user; answers the user and a bearer token. Limited per client address."""
    return _auth_response(await service.register(session, auth, throttle, body, address))


@router.post("/login", response_model=AuthResponse, responses={400: {"description": BAD_LOGIN}, 429: {}})
async def login(
    body: LoginRequest, session: SessionDep, auth: AuthDep, throttle: ThrottleDep, address: AddressDep
) -> AuthResponse:
    """Log in; every login issues a new token and revokes the user's previous ones (seed 001;
    /auth/token and /api/core/login leave the other sessions alone)."""
    try:
        return _auth_response(
            await service.password_login(session, auth, throttle, body.username, body.password, address, supersede=True)
        )
    except service.BadCredentials:
        raise DomainError(BAD_LOGIN, status_code=400) from None


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(principal: PrincipalDep, session: SessionDep, auth: AuthDep) -> Response:
    """Revoke the presented token (and the refresh token family it came from, if any)."""
    await service.logout(session, auth, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={400: {"description": "Wrong current password"}, 429: {"description": "Too many failed attempts"}},
)
async def change_password(
    body: PasswordChange,
    principal: PrincipalDep,
    session: SessionDep,
    auth: AuthDep,
    throttle: ThrottleDep,
    address: AddressDep,
) -> Response:
    """Change the caller's password. Every other token of the user and every refresh token
    family are revoked; the token presented here stays valid."""
    try:
        await service.change_password(
            session, auth, throttle, principal, body.current_password, body.new_password, address
        )
    except service.BadCredentials:
        raise DomainError("The current password is wrong.", status_code=400) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/info", response_model=UserOut)
async def info(principal: PrincipalDep, session: SessionDep) -> UserOut:
    """The user the token belongs to."""
    return UserOut.from_row(await service.get_user(session, service.user_id_of(principal)))


def _oauth_error(status_code: int, error: str, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status_code, headers=NO_STORE | (headers or {})
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return ("", "")
    return unquote_plus(client_id), unquote_plus(secret)  # RFC 6749 §2.3.1: form-encoded, then Basic


@router.post("/token", response_model=TokenResponse, responses=OAUTH_ERRORS)
async def token(
    request: Request,
    session: SessionDep,
    auth: AuthDep,
    throttle: ThrottleDep,
    address: AddressDep,
    grant_type: Annotated[
        str | SkipJsonSchema[None],
        Form(
            description="OAuth2 grant (RFC 6749).",
            json_schema_extra=explain_values(GRANT_MEANINGS, enum=True),
        ),
    ] = None,
    username: Annotated[str | None, Form(description="password grant: the login name.")] = None,
    password: Annotated[str | None, Form(description="password grant: the password.")] = None,
    client_id: Annotated[
        str | None, Form(description="client_credentials grant: the machine client's id (or send HTTP Basic).")
    ] = None,
    client_secret: Annotated[
        str | None, Form(description="client_credentials grant: the machine client's secret (or send HTTP Basic).")
    ] = None,
    refresh_token: Annotated[
        str | None, Form(description="refresh_token grant: the refresh token of the last token response.")
    ] = None,
    scope: Annotated[str | None, Form(description="Ignored: the platform has no scopes.")] = None,
) -> Any:
    """OAuth2 token endpoint (RFC 6749): ``password`` grant for people (Swagger's Authorize; also
    returns a refresh token), ``refresh_token`` grant (§6: rotates the refresh token; a reused one
    revokes its family), ``client_credentials`` for machine clients (form fields or HTTP Basic).
    A login here does not end the user's other sessions."""
    if not grant_type:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    refresh: str | None = None
    if grant_type == "password":
        if not username or not password:
            return _oauth_error(400, "invalid_request", "username and password are required")
        try:
            login = await service.password_login(session, auth, throttle, username, password, address, refresh=True)
        except service.BadCredentials:
            return _oauth_error(400, "invalid_grant", "Invalid username or password")
        issued, refresh = login.token, login.refresh_token
    elif grant_type == "refresh_token":
        if not refresh_token:
            return _oauth_error(400, "invalid_request", "refresh_token is required")
        try:
            login = await service.refresh_login(session, auth, refresh_token)
        except service.RefreshReused:
            return _oauth_error(400, "invalid_grant", "Refresh token already used; its family has been revoked")
        except service.BadCredentials:
            return _oauth_error(400, "invalid_grant", "Invalid, expired or revoked refresh token")
        issued, refresh = login.token, login.refresh_token
    elif grant_type == "client_credentials":
        basic = _basic_credentials(request)
        if basic is not None and (client_id or client_secret):
            return _oauth_error(
                400, "invalid_request", "Send client credentials either by HTTP Basic or in the form, not both"
            )
        cid, secret = basic if basic is not None else (client_id, client_secret)
        challenge = {"WWW-Authenticate": 'Basic realm="gridcommons"'}
        if not cid or not secret:
            return _oauth_error(401, "invalid_client", "Client authentication failed", challenge)
        try:
            issued = await service.client_login(session, auth, throttle, cid, secret, address)
        except service.BadCredentials:
            return _oauth_error(401, "invalid_client", "Client authentication failed", challenge)
    else:
        return _oauth_error(400, "unsupported_grant_type", "Supported: password, refresh_token, client_credentials")
    body = TokenResponse(access_token=issued.token, expires_in=issued.expires_in, refresh_token=refresh)
    return JSONResponse(body.model_dump(exclude_none=True), headers=NO_STORE)


@wellknown.get("/.well-known/jwks.json")
async def jwks(auth: AuthDep) -> JSONResponse:
    """The public keys (Ed25519, OKP) that verify the gateway's bearer tokens."""
    return JSONResponse(auth.signer.jwks(), headers={"Cache-Control": "public, max-age=300"})
