"""Upstream base URLs and their pooled aiohttp sessions (one per service)."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp

from gridcommons.registry import load_registry, repo_root

from ..settings import GatewaySettings
from .routes import UPSTREAMS

log = logging.getLogger("gateway.edge")


def _registry_ports() -> dict[str, int]:
    try:
        root = repo_root()
    except FileNotFoundError:
        root = Path(__file__).resolve().parents[3]  # the monorepo checkout
    try:
        return {e.name: e.effective_port for e in load_registry(root)}
    except FileNotFoundError:
        log.warning("deploy/services.toml not found: upstreams without an explicit URL are unreachable")
        return {}


def upstream_urls(settings: GatewaySettings) -> dict[str, str]:
    """service name -> base URL (no trailing slash): GATEWAY_UPSTREAM_<NAME> or 127.0.0.1:<registry port>."""
    ports = _registry_ports()
    urls: dict[str, str] = {}
    for name in UPSTREAMS:
        explicit = getattr(settings, "upstream_" + name.replace("-", "_"), None)
        if explicit:
            urls[name] = explicit.rstrip("/")
        elif name in ports:
            urls[name] = f"http://127.0.0.1:{ports[name]}"
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
