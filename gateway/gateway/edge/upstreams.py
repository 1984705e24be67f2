"""Upstream base URLs and their pooled aiohttp sessions (one per service)."""

from __future__ import annotations

import logging
import os

import aiohttp

from ..settings import GatewaySettings
from .routes import REGISTRY, UPSTREAMS

log = logging.getLogger("gateway.edge")


def upstream_urls(settings: GatewaySettings) -> dict[str, str]:
    """service name -> base URL (no trailing slash), for every upstream of the registry: the
    ``upstreams`` setting (GATEWAY_UPSTREAMS), else the entry's own variable
    (GATEWAY_UPSTREAM_<NAME>), else 127.0.0.1 and the entry's port (its port variable honoured)."""
    entries = {e.name: e for e in REGISTRY}
    unknown = set(settings.upstreams) - set(UPSTREAMS)
    if unknown:
        log.warning("GATEWAY_UPSTREAMS names services the registry does not route to: %s", sorted(unknown))
    urls: dict[str, str] = {}
    for name in UPSTREAMS:
        entry = entries[name]
        explicit = settings.upstreams.get(name) or os.environ.get(entry.upstream_env)
        urls[name] = explicit.rstrip("/") if explicit else f"http://127.0.0.1:{entry.effective_port}"
    return urls


def make_session(settings: GatewaySettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_pool_size,
        limit_per_host=0,
        keepalive_timeout=settings.upstream_keepalive_seconds,
        ttl_dns_cache=300,
        enable_cleanup_closed=False,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # cookies are the client's business, never the gateway's
        auto_decompress=False,  # pass bodies through byte for byte (Content-Encoding stays valid)
        skip_auto_headers=("Accept-Encoding", "User-Agent", "Accept"),
        timeout=aiohttp.ClientTimeout(total=None, connect=settings.upstream_connect_timeout),
        raise_for_status=False,
    )
