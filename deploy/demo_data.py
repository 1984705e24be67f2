"""Load the demo tenant (idempotent): users, company and device client in the gateway's
database, then a few assets created through the gateway's public API like any client would.

Run by `make run` after every process answers; prints the credentials it ensured.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from community_service.scenarios.examples import EXAMPLES as SCENARIO_EXAMPLES
from gateway.demo import ensure_demo_tenant
from gridcommons.db import make_engine, make_sessionmaker
from gridcommons.settings import InfraSettings

DEMO_ASSETS = [
    {
        "code": "WU",
        "name": "Wustermark battery",
        "type": "BESS",
        "region": "DE",
        "delivery_area": "50HZ",
        "provider": "ENTELIOS",
    },
    {
        "code": "DK",
        "name": "Dresden solar park",
        "type": "PV",
        "region": "DE",
        "delivery_area": "50HZ",
        "provider": "EBX",
    },
    {
        "code": "KR",
        "name": "Krakow battery",
        "type": "BESS",
        "region": "PL",
        "delivery_area": "PSE",
        "provider": "TERRALAYR",
    },
]


def _call(method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> object:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


# ---------------------------------------------------------------------------------------------- scenarios
def ensure_demo_scenarios(gateway: str, headers: dict[str, str]) -> None:
    """The example scenarios, offered to every unit of the demo company (global scope, so the demo
    unit sees them whatever its codes); created once, by name."""
    existing = _call("GET", f"{gateway}/api/community/scenarios?include_retired=true&limit=1000", headers=headers)
    assert isinstance(existing, dict)
    have = {s["name"] for s in existing["scenarios"] if s["community_id"] is None}
    for name, description, data in SCENARIO_EXAMPLES:
        if name not in have:
            body = {"name": name, "description": description, "data": data}
            _call("POST", f"{gateway}/api/community/scenarios", data=json.dumps(body).encode(), headers=headers)


async def ensure_tenant() -> dict:
    engine = make_engine(InfraSettings(), application_name="demo-data")
    try:
        return await ensure_demo_tenant(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def main() -> None:
    info = asyncio.run(ensure_tenant())
    gateway = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8000')}"
    form = urllib.parse.urlencode(
        {"grant_type": "password", "username": "demo-operator", "password": "demo-operator-pass"}
    ).encode()
    token = _call(
        "POST", f"{gateway}/auth/token", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert isinstance(token, dict)
    company_id = str(info["company_id"])
    headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "CompanyID": company_id,
        "Content-Type": "application/json",
    }
    existing = _call("GET", f"{gateway}/api/assets?limit=1000", headers=headers)
    assert isinstance(existing, dict)
    have = {a["code"] for a in existing["assets"]}
    for asset in DEMO_ASSETS:
        if asset["code"] not in have:
            _call("POST", f"{gateway}/api/assets", data=json.dumps(asset).encode(), headers=headers)
    ensure_demo_scenarios(gateway, headers)
    print(f'Demo tenant: company "{info.get("company_name", "Demo Energy Community")}" CompanyID={company_id}')
    print("  superuser      superuser / superuser-pass")
    print("  admin          demo-admin / demo-admin-pass")
    print("  operator       demo-operator / demo-operator-pass")
    print("  member         demo-member / demo-member-pass")
    print(
        "  device client  demo-device / demo-device-secret  (client_credentials; /api/ingest/* and Kafka ingest.* with header authorization: Bearer <token>)"
    )
    print("Try:")
    print(
        f"  TOKEN=$(curl -s -d grant_type=password -d username=demo-operator -d password=demo-operator-pass {gateway}/auth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    print(f"  curl -H \"Authorization: Bearer $TOKEN\" -H 'CompanyID: {company_id}' {gateway}/api/assets")


if __name__ == "__main__":
    try:
        main()
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"demo data: {exc.code} {exc.read().decode(errors='replace')}") from exc
