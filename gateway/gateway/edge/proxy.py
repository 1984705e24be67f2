"""The reverse proxy: a pure ASGI middleware in front of the gateway's FastAPI router.

For each HTTP request it looks the path up in the route table: gateway-own routes go on to the
FastAPI app, unknown paths get 404, and routed paths are authenticated, tenant-checked,
budgeted (machine clients) and forwarded to the owning service through one pooled aiohttp
session per upstream, bodies streamed both ways, with the internal identity attached. Each proxied request is a CLIENT span (child of the
request's SERVER span, ``gridcommons.observability``) whose ``traceparent`` goes upstream in place
of the client's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from opentelemetry.trace import SpanKind, Status, StatusCode, get_current_span
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from yarl import URL

from gridcommons.errors import DomainError
from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner
from gridcommons.observability import ROUTE_BODY_LIMIT_KEY, request_id_var, valid_request_id
from gridcommons.tracing import current_headers, tracer

from ..auth.deps import authorization_from_request
from ..principal import Principal
from .ratelimit import TokenBuckets
from .routes import Route, RouteTable

log = logging.getLogger("gateway.edge")

# RFC 9110 §7.6.1 hop-by-hop headers (plus every header named in Connection, handled per message).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Request headers never forwarded: credentials the gateway consumes, identity claims only the gateway
# may assert, the tenant headers (re-added once checked), and what the gateway sets itself.
DROP_REQUEST = HOP_BY_HOP | frozenset(
    {
        b"host",
        b"authorization",
        b"cookie",
        b"expect",
        b"content-length",
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-port",
        b"x-real-ip",
        b"x-request-id",
        b"traceparent",  # the proxy's span replaces the client's context (which its parent continues)
        b"tracestate",
        b"companyid",
        b"communityid",
        INTERNAL_IDENTITY_HEADER.encode(),
        b"x-user-id",
        b"x-user",
        b"x-username",
        b"x-company-id",
        b"x-companyid",
        b"x-tenant-id",
        b"x-roles",
        b"x-user-roles",
        b"x-identity",
        b"x-principal",
        b"x-authenticated-user",
        b"x-auth-user",
        b"x-forwarded-user",
        b"x-superuser",
    }
)
DROP_REQUEST_PREFIXES = (b"x-gridcommons-", b"x-auth-", b"x-authenticated-")
# Response headers the gateway replaces: the request id (added by the outer middleware), server/date
# (added by the gateway's own server).
DROP_RESPONSE = HOP_BY_HOP | frozenset({b"x-request-id", b"server", b"date"})

BUFFER_LIMIT = 64 * 1024  # bodies with a known length up to this are read whole (one send), larger ones stream
CHUNK = 64 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})


class EdgeState:
    """What the proxy needs at run time; created by ``install``, filled by ``lifespan``."""

    def __init__(self, table: RouteTable, budgets: TokenBuckets):
        self.table = table
        self.budgets = budgets
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.urls: dict[str, str] = {}
        self.signer: IdentitySigner | None = None
        self.connect_timeout = 3.0
        self.app_state: Any = None  # the FastAPI app's state (holds the authenticator)


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, edge: EdgeState):
        self.app = app
        self.edge = edge
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self.edge.table.match(scope["path"])
        if route is None:
            await send_json(send, 404, "Not Found")
            return
        if route.service is None:
            await self.app(scope, receive, send)
            return
        if route.max_body_bytes is not None:
            scope[ROUTE_BODY_LIMIT_KEY] = route.max_body_bytes  # read by the kernel's body limit
        if route.methods is not None and scope["method"] not in route.methods:
            allow = ", ".join(sorted(route.methods))
            await send_json(send, 405, "Method Not Allowed", [(b"allow", allow.encode())])
            return
        with tracer("gateway").start_as_current_span(
            f"{scope['method']} {route.service}", kind=SpanKind.CLIENT, record_exception=False
        ) as span:
            try:
                await self._proxy(route, scope, receive, send)
            except DomainError as exc:
                extra = [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
                if exc.status_code == 401 and not any(k == b"www-authenticate" for k, _ in extra):
                    extra.append((b"www-authenticate", b"Bearer"))
                span.set_attribute("http.response.status_code", exc.status_code)
                await send_json(send, exc.status_code, exc.detail, extra)
            except ClientGone:
                return

    async def _companies_with_community(self, community_code: str, company_ids: Sequence[int]) -> list[int]:
        # One indexed query on the gateway's community registry replica (gridcommons.community_replica).
        state = self.edge.app_state
        async with state.sessionmaker() as session:
            found: list[int] = await state.registry_lookup.companies_with_community(
                session, community_code, company_ids
            )
            return found

    # ------------------------------------------------------------------ the proxied request
    async def _proxy(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        edge = self.edge
        authz = cookie = company = community = host = xff = connection = content_length = None
        forward: list[tuple[str, str]] = []
        raw_headers = scope["headers"]
        for name, value in raw_headers:
            if name in DROP_REQUEST or name.startswith(DROP_REQUEST_PREFIXES):
                if name == b"authorization":
                    authz = value
                elif name == b"companyid":
                    company = value
                elif name == b"communityid":
                    community = value
                elif name == b"cookie":
                    cookie = value
                elif name == b"host":
                    host = value
                elif name == b"x-forwarded-for":
                    xff = value
                elif name == b"connection":
                    connection = value if connection is None else connection + b"," + value
                elif name == b"content-length":
                    content_length = value
                continue
            forward.append((name.decode("latin-1"), value.decode("latin-1")))
        if connection is not None:
            named = {t.strip().lower() for t in connection.decode("latin-1").split(",")}
            forward = [(k, v) for k, v in forward if k not in named]

        # --- who is calling, and for which company ---
        authenticator = getattr(edge.app_state, "authenticator", None)
        if authenticator is None or edge.signer is None:
            raise DomainError("Authentication is not available", status_code=503)
        form_body: bytes | None = None
        tenant = company if company is not None else community
        tenant_header = tenant.decode("latin-1") if tenant is not None else None
        if route.form_credentials and authz is None:
            # Seed 004 device doors: credentials in the form instead of a token.
            principal, form_body, form_company = await form_door(
                scope, receive, authenticator, tenant_header, self._companies_with_community
            )
            tenant_header = form_company
            forward = [(k, v) for k, v in forward if k.lower() != "content-type"]
            forward.append(("Content-Type", "application/x-www-form-urlencoded"))
            credentials: str | None = None
        elif authz is not None:
            credentials = authz.decode("latin-1")
        elif cookie is not None:
            # The sessionid cookie of /api/core/login as the bearer (with the auth package's CSRF rule).
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw_headers}
            credentials = authorization_from_request(scope["method"], headers, _cookies(cookie.decode("latin-1")))
        else:
            credentials = None
        if form_body is None:
            principal = await authenticator.authenticate(credentials)
        is_device = principal.kind == "client"
        if is_device:
            if not route.device_allowed:
                raise DomainError("Machine clients may only use the ingestion endpoints", status_code=403)
            wait = edge.budgets.take(principal.subject, getattr(principal, "request_budget_per_minute", None))
            if wait:
                raise DomainError(
                    "Request budget exceeded",
                    status_code=429,
                    headers={"Retry-After": edge.budgets.retry_after(wait)},
                )
        if tenant_header is None and is_device and principal.company_id is not None:
            tenant_header = str(principal.company_id)
        if route.tenant_scoped or tenant_header is not None:
            identity: Identity = await authenticator.identity_for(principal, tenant_header)
        else:
            identity = Identity(
                subject=principal.subject,
                kind=principal.kind,
                company_id=None,
                roles=frozenset(),
                username=principal.username,
                superuser=principal.superuser,
            )
        forward.append((INTERNAL_IDENTITY_HEADER, edge.signer.sign(identity)))
        if identity.company_id is not None:
            forward.append(("CompanyID", str(identity.company_id)))

        # --- request id and forwarding headers ---
        rid = request_id_var.get() or valid_request_id(None)
        forward.append(("X-Request-ID", rid))
        forward.extend(current_headers().items())  # traceparent/tracestate of the proxy's span
        client = scope.get("client")
        if client:
            peer = client[0]
            if xff:
                chain = xff.decode("latin-1")
                # uvicorn's --proxy-headers (on for trusted peers) already made the chain's last hop our
                # client: do not list it twice.
                if chain.rsplit(",", 1)[-1].strip() != peer:
                    chain = f"{chain}, {peer}"
                forward.append(("X-Forwarded-For", chain))
            else:
                forward.append(("X-Forwarded-For", peer))
        forward.append(("X-Forwarded-Proto", scope.get("scheme", "http")))
        if host is not None:
            forward.append(("X-Forwarded-Host", host.decode("latin-1")))

        # --- body: small known-length bodies read whole, the rest streamed ---
        method = scope["method"]
        body_state = _BodyState()
        data: Any = None
        length = _int(content_length)
        chunked = any(n == b"transfer-encoding" for n, _ in raw_headers)
        if form_body is not None:
            data = form_body
        elif length is not None and length <= BUFFER_LIMIT:
            if length > 0:
                data = await _read_body(receive, body_state)
                if data is None:
                    await send_json(send, 413, body_state.too_large or "Request body too large")
                    return
        elif length is not None or chunked:
            if length is not None:
                forward.append(("Content-Length", str(length)))
            data = _stream_body(receive, body_state)

        session = edge.sessions.get(route.service or "")
        base = edge.urls.get(route.service or "")
        if session is None or base is None:
            await send_json(send, 502, f"No upstream configured for {route.service}")
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = base + raw_path.decode("latin-1")
        qs = scope.get("query_string")
        if qs:
            target += "?" + qs.decode("latin-1")
        url = URL(target, encoded=True)
        timeout = self._timeouts.get(route.timeout)
        if timeout is None:
            timeout = self._timeouts[route.timeout] = aiohttp.ClientTimeout(
                total=None, connect=edge.connect_timeout, sock_read=route.timeout
            )

        attempts = 2 if (method in IDEMPOTENT and data is None) else 1
        for attempt in range(attempts):
            try:
                resp = await session.request(
                    method, url, headers=forward, data=data, allow_redirects=False, timeout=timeout
                )
                break
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # A kept-alive socket closed by the upstream in the meantime: retry once if safe.
                if body_state.too_large:
                    await send_json(send, 413, body_state.too_large)
                    return
                if attempt + 1 < attempts and not isinstance(exc, aiohttp.ClientConnectorError):
                    continue
                log.warning("upstream %s failed: %r", route.service, exc)
                await send_json(send, 502, f"Upstream {route.service} unavailable")
                return
            except TimeoutError:
                if body_state.too_large:
                    await send_json(send, 413, body_state.too_large)
                    return
                await send_json(send, 504, f"Upstream {route.service} timed out")
                return
            except aiohttp.ClientError as exc:
                if body_state.too_large:
                    await send_json(send, 413, body_state.too_large)
                    return
                log.warning("upstream %s failed: %r", route.service, exc)
                await send_json(send, 502, f"Upstream {route.service} unavailable")
                return
        else:  # pragma: no cover - the loop always breaks or returns
            return

        try:
            await self._relay(resp, route, method, send)
        finally:
            resp.release()

    async def _relay(self, resp: aiohttp.ClientResponse, route: Route, method: str, send: Send) -> None:
        span = get_current_span()
        if span.is_recording():
            span.set_attribute("http.response.status_code", resp.status)
            span.set_attribute("gridcommons.upstream", route.service or "")
            if resp.status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        log.debug("proxied %s %s to %s: %d", method, resp.url.path, route.service, resp.status)
        raw = resp.raw_headers
        named: set[bytes] = set()
        for name, value in raw:
            if name.lower() == b"connection":
                named.update(t.strip().lower() for t in value.split(b","))
        headers = []
        length: int | None = None
        for name, value in raw:
            lname = name.lower()
            if lname in DROP_RESPONSE or lname in named:
                continue
            if lname == b"content-length":
                length = _int(value)
            headers.append((lname, value))
        if method == "HEAD" or resp.status in (204, 304):
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if length is not None and length <= BUFFER_LIMIT:
            try:
                body = await resp.read()
            except TimeoutError:
                await send_json(send, 504, f"Upstream {route.service} timed out")
                return
            except aiohttp.ClientError:
                await send_json(send, 502, f"Upstream {route.service} failed mid-response")
                return
            await send({"type": "http.response.start", "status": resp.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        # Streaming: a failure after the headers went out can only abort the response (the exception
        # makes the server close the connection, so the client sees a truncated body, never a fake end).
        async for chunk in resp.content.iter_chunked(CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


FORM_USER_FIELDS = ("username", "account")
# (community code, the user's company ids) -> those of the companies holding a community with that code
CommunityCompanies = Callable[[str, Sequence[int]], Awaitable[list[int]]]
FORM_SECRET_FIELDS = frozenset({"username", "account", "password", "isMD5Password"})


async def form_door(
    scope: Scope,
    receive: Receive,
    authenticator: Any,
    tenant_header: str | None,
    companies_with_community: CommunityCompanies,
) -> tuple[Principal, bytes, str]:
    """Check ``username``/``account`` + ``password`` from a form (urlencoded or multipart) and pick
    the company (``company_for_form``). Returns the principal, the form re-encoded without the
    credentials (they never reach a service), and the company id."""
    from urllib.parse import urlencode

    from starlette.requests import Request

    state = _BodyState()
    body = await _read_body(receive, state)
    if body is None:
        raise DomainError(state.too_large or "Request body too large", status_code=413)
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return {"type": "http.disconnect"}
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, replay).form()
    except Exception as exc:
        raise DomainError("Malformed form body", status_code=400) from exc
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    values = dict(fields)
    username = next((values[f] for f in FORM_USER_FIELDS if values.get(f)), None)
    password = values.get("password")
    if not username or not password:
        raise DomainError("no param : username/account, password", status_code=400)
    client = scope.get("client")
    try:
        principal: Principal = await authenticator.authenticate_password(
            username, password, client[0] if client else "unknown"
        )
    except DomainError as exc:
        if exc.status_code == 401:
            raise DomainError("login failed", status_code=403) from exc
        raise
    chosen = tenant_header
    if chosen is None:
        companies = await authenticator.companies_of(principal)
        chosen = str(await company_for_form(values.get("communityId", ""), sorted(companies), companies_with_community))
    remaining = urlencode([(k, v) for k, v in fields if k not in FORM_SECRET_FIELDS]).encode()
    return principal, remaining, chosen


async def company_for_form(
    community_code: str, companies: Sequence[int], companies_with_community: CommunityCompanies
) -> int:
    """The company of a form door request without a CompanyID header, from the form's
    ``communityId`` code and the user's memberships (``companies``): the one company of the user
    holding a community with that code; none → the user's only company if there is one (its
    service then answers ``bad param values``); several → the CompanyID header must name one."""
    names = "communityId, clusterId, unitId"
    if community_code and companies:
        candidates = await companies_with_community(community_code, companies)
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise DomainError(
                f"community {community_code!r} exists in several companies of the user: "
                "name one with the CompanyID header",
                status_code=400,
            )
    if len(companies) == 1:
        return companies[0]
    if not community_code:
        raise DomainError(f"no param : {names}", status_code=400)
    raise DomainError(f"bad param values : {names}", status_code=400)


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class _BodyState:
    __slots__ = ("too_large",)

    def __init__(self) -> None:
        self.too_large: str | None = None


async def _read_body(receive: Receive, state: _BodyState) -> bytes | None:
    parts = []
    while True:
        try:
            message = await receive()
        except HTTPException as exc:  # the body limit of the outer middleware
            state.too_large = str(exc.detail)
            return None
        if message["type"] == "http.disconnect":
            raise ClientGone
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)


async def _stream_body(receive: Receive, state: _BodyState) -> AsyncIterator[bytes]:
    while True:
        try:
            message = await receive()
        except HTTPException as exc:  # over the body limit: abort the upstream request
            state.too_large = str(exc.detail)
            raise
        if message["type"] == "http.disconnect":
            raise ClientGone
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return


def _int(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 0 else None


def _cookies(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header.split(";"):
        k, sep, v = part.strip().partition("=")
        if sep and k:
            out.setdefault(k, v.strip().strip('"'))
    return out


async def send_json(send: Send, status: int, detail: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
