"""What the benchmarks share: an embedded, migrated PostgreSQL in a scratch folder, the environment and
signed identity of an in-process asset-service, its app behind an ASGI client, timestamps and percentiles.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from gridcommons.devstack import EmbeddedPostgres, free_port, remove_tree
from gridcommons.identity import INTERNAL_IDENTITY_HEADER, Identity, IdentitySigner, generate_ed25519_pem
from gridcommons.migrations import upgrade
from gridcommons.registry import load_registry

ROOT = Path(__file__).resolve().parents[1]


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def p90(ordered: Sequence[float]) -> float:
    """The 90th percentile of sorted values (nearest rank)."""
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


@contextmanager
def migrated_postgres(prefix: str, services: Sequence[str], *, keep: bool = False) -> Iterator[tuple[Path, str]]:
    """(scratch folder, database URL) of an embedded PostgreSQL on a free port with ``services`` migrated;
    stopped and the folder removed afterwards (unless ``keep``: then its path is printed)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(tmp, 0o755)
    pg = EmbeddedPostgres(tmp / "pg", free_port(), database="gridcommons_bench")
    try:
        db_url = pg.start()
        registry = {e.name: e for e in load_registry(ROOT)}
        for name in services:
            upgrade(registry[name].migrations, db_url)
        yield tmp, db_url
    finally:
        pg.stop()
        if keep:
            print(f"logs kept in {tmp}")
        else:
            remove_tree(tmp)


def in_process_env(db_url: str) -> str:
    """Set the environment of an in-process asset-service (no broker: nothing listens on its
    Kafka port, no worker runs here); returns the private key that signs internal identities."""
    internal_priv, internal_pub = generate_ed25519_pem()
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
            "INTERNAL_IDENTITY_PUBLIC_KEY": internal_pub,
            "GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY": internal_priv,
            "LOG_LEVEL": "WARNING",
            "GRIDCOMMONS_ROOT": str(ROOT),
        }
    )
    return internal_priv


def operator_headers(private_key: str, company_id: int, **signer: Any) -> dict[str, str]:
    """The internal identity header of an operator of ``company_id`` (subject "bench")."""
    ident = Identity(subject="bench", kind="user", company_id=company_id, roles=frozenset({"operator"}))
    return {INTERNAL_IDENTITY_HEADER: IdentitySigner(private_key, **signer).sign(ident)}


@asynccontextmanager
async def asset_client(base_url: str, **create_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the asset-service app in process (lifespan started, no TCP, no gateway)."""
    from asset_service.app import create_app as make_app
    from asset_service.settings import AssetSettings

    app = make_app(AssetSettings(), **create_app)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=60) as client:
            yield client
