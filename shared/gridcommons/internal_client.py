"""Calls from one service to another's internal HTTP API, on behalf of the request being served.

DESIGN §1: services talk through events, or through another service's internal HTTP API for queries they cannot
answer from their own read model. A service accepts only the gateway-signed internal identity, so a call between
services **relays the caller's identity**: the internal identity header of the request being served goes with
the call unchanged, and the peer checks the same rights as if the caller had asked it through the gateway (an
operator's balance, a member's refusal). No new secret, no service account: a call made without a request
being served (a worker) has no identity to relay and is not possible through this module.

Where a peer is: ``INTERNAL_URL_<NAME>`` (the registry name upper-cased, dashes as underscores:
``INTERNAL_URL_METERING_SERVICE=http://metering-service:8102``), else ``http://127.0.0.1:<registry port>``
(its port variable honoured): what ``make run`` needs with no configuration; docker-compose sets the variables.

Answers of the peer, for the route that made the call:

- 2xx: the response (``call`` decodes its JSON);
- 4xx: the same status and detail (a 422 keeps its items): the peer's refusal is the caller's refusal;
- peer unreachable (connection refused or reset, DNS): 503 ``<peer> is unavailable: ...`` with
  ``Retry-After``; no answer within the timeout: 504; a 5xx of the peer: 502 (its 503 stays a 503 with its
  ``Retry-After``); never a 500 of the caller.

Usage in a route (the dependency verifies the caller's identity first: without one, 401 before any call)::

    @router.get("/api/community/metrics")
    async def metrics(peers: InternalCalls) -> ...:
        balance = await peers.call("metering-service", "POST", "/api/metering/energy-balance", json={...})

One pooled ``httpx.AsyncClient`` per peer and app (``app.state.internal_clients``), closed with the app.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from .errors import DomainError, ValidationFailed
from .identity import INTERNAL_IDENTITY_HEADER, IdentityDep
from .observability import REQUEST_ID_HEADER, request_id_var
from .registry import ServiceEntry, load_registry
from .tracing import current_headers

log = logging.getLogger("gridcommons.internal_client")

DEFAULT_TIMEOUT_SECONDS = 30.0
RETRY_AFTER_SECONDS = "5"


# ----------------------------------------------------------------------------- errors
class PeerUnavailable(DomainError):
    """The peer could not be reached (or answered 503): retry later."""

    status_code = 503


class PeerTimeout(DomainError):
    """The peer did not answer in time."""

    status_code = 504


class PeerFailed(DomainError):
    """The peer answered with a server error."""

    status_code = 502


# ----------------------------------------------------------------------------- where peers are
def peer_base_url(
    service: str, *, environ: Mapping[str, str] | None = None, registry: Sequence[ServiceEntry] | None = None
) -> str:
    """A peer's base URL (no trailing slash): ``INTERNAL_URL_<NAME>``, else 127.0.0.1 and its registry port."""
    entries = {e.name: e for e in (registry if registry is not None else load_registry())}
    entry = entries.get(service)
    if entry is None or entry.is_gateway:
        raise ValueError(f"{service!r} is not a service of deploy/services.toml")
    environ = os.environ if environ is None else environ
    explicit = environ.get(entry.internal_url_env)
    return explicit.rstrip("/") if explicit else f"http://127.0.0.1:{entry.effective_port}"


# ----------------------------------------------------------------------------- the client
def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("detail") if isinstance(body, dict) else None


class InternalClient:
    """Calls to one peer service, each with the identity it is given (pooled connections)."""

    def __init__(
        self,
        service: str,
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/") if base_url else peer_base_url(service)
        self.timeout = timeout
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment must not see internal identities
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        identity: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The peer's 2xx response to ``method path`` made with the internal identity token ``identity``;
        any other outcome raises the error the module's docstring lists."""
        sent = {**(headers or {}), **current_headers(), INTERNAL_IDENTITY_HEADER: identity}
        rid = request_id_var.get()
        if rid:
            sent[REQUEST_ID_HEADER] = rid
        try:
            response = await self._client.request(method, path, json=json, params=params, headers=sent)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                raise self._unavailable("no connection within the timeout") from None
            raise PeerTimeout(f"{self.service} did not answer within {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise self._unavailable(_reason(exc)) from None
        if response.is_success:
            return response
        status = response.status_code
        detail = _detail(response)
        log.info("%s answered %s to %s %s", self.service, status, method, path)
        if status == 503:
            retry = response.headers.get("retry-after", RETRY_AFTER_SECONDS)
            text = detail if isinstance(detail, str) else "service unavailable"
            raise PeerUnavailable(f"{self.service} is unavailable: {text}", headers={"Retry-After": retry})
        if status >= 500:
            raise PeerFailed(f"{self.service} failed ({status})")
        if status == 422 and isinstance(detail, list):
            raise ValidationFailed(item for item in detail if isinstance(item, dict))
        text = detail if isinstance(detail, str) else f"{self.service} refused the request ({status})"
        retry_after = response.headers.get("retry-after")
        raise DomainError(text, status_code=status, headers={"Retry-After": retry_after} if retry_after else None)

    async def call(self, method: str, path: str, *, identity: str, json: Any = None, **kw: Any) -> Any:
        """``request`` and the answer's JSON (None for an empty body)."""
        response = await self.request(method, path, identity=identity, json=json, **kw)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise PeerFailed(f"{self.service} answered {response.status_code} without JSON") from None

    def _unavailable(self, reason: str) -> PeerUnavailable:
        log.warning("%s unreachable at %s: %s", self.service, self.base_url, reason)
        return PeerUnavailable(
            f"{self.service} is unavailable ({reason}); retry later", headers={"Retry-After": RETRY_AFTER_SECONDS}
        )


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or unreachable"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "connection closed without an answer"
    return exc.__class__.__name__


# ----------------------------------------------------------------------------- per request
def internal_client(app: Any, service: str) -> InternalClient:
    """The app's client for ``service`` (made on first use, closed with the app by ``close_internal_clients``)."""
    clients: dict[str, InternalClient] | None = getattr(app.state, "internal_clients", None)
    if clients is None:
        clients = app.state.internal_clients = {}
    client = clients.get(service)
    if client is None:
        client = clients[service] = InternalClient(service)
    return client


async def close_internal_clients(app: Any) -> None:
    """Close the app's clients (the service app's lifespan does it at shutdown)."""
    clients: dict[str, InternalClient] = getattr(app.state, "internal_clients", None) or {}
    app.state.internal_clients = {}
    for client in clients.values():
        await client.aclose()


@dataclass(frozen=True)
class PeerCalls:
    """Calls to other services on behalf of the request being served: its identity relayed."""

    app: Any
    identity_token: str

    async def request(self, service: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return await internal_client(self.app, service).request(method, path, identity=self.identity_token, **kw)

    async def call(self, service: str, method: str, path: str, **kw: Any) -> Any:
        return await internal_client(self.app, service).call(method, path, identity=self.identity_token, **kw)


async def peer_calls(request: Request, identity: IdentityDep) -> PeerCalls:  # async: no worker-thread hop
    """The request's verified identity (401 without a valid one), relayed as it came."""
    del identity  # verified: a forged or absent identity never leaves this service
    return PeerCalls(request.app, request.headers[INTERNAL_IDENTITY_HEADER])


InternalCalls = Annotated[PeerCalls, Depends(peer_calls)]
