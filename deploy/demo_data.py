"""Load the demo tenant (idempotent): users, company and device client in the gateway's
database, then a few assets, and two metering series with a day of readings, created through the
gateway's public API like any client would.

Run by `make run` after every process answers; prints the credentials it ensured.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

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


DEMO_SERIES = [
    {
        "external_key": "demo-meter-1/active_energy_import",
        "kind": "cumulative",
        "unit": "kWh",
        "name": "Community house: energy imported (register)",
        "metadata": {"meter": "sdm630", "host": "demo-meter-1"},
    },
    {
        "external_key": "demo-meter-1/active_power",
        "kind": "instantaneous",
        "unit": "W",
        "name": "Community house: active power",
        "metadata": {"meter": "sdm630", "host": "demo-meter-1"},
    },
]


def ensure_demo_readings(gateway: str, headers: dict[str, str]) -> None:
    """Two series of the demo meter and yesterday's (UTC) quarter-hour readings; a second run changes nothing."""
    for series in DEMO_SERIES:
        key = urllib.parse.quote(series["external_key"], safe="")
        found = _call("GET", f"{gateway}/api/metering/series?external_key={key}", headers=headers)
        assert isinstance(found, dict)
        if not found["series"]:
            _call("POST", f"{gateway}/api/metering/series", data=json.dumps(series).encode(), headers=headers)
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    # the register keeps growing from one day to the next (about 12 kWh a day here)
    counter, readings = 12_500.0 + 20 * (day - datetime(2026, 1, 1, tzinfo=UTC)).days, []
    for q in range(96):
        at = (day + timedelta(minutes=15 * q)).isoformat().replace("+00:00", "Z")
        power = 400 + 1800 * max(0.0, 1 - abs(q - 76) / 12) + 600 * max(0.0, 1 - abs(q - 30) / 6)  # evening, morning
        counter += power / 4 / 1000
        readings.append({"external_key": DEMO_SERIES[0]["external_key"], "time": at, "value": f"{counter:.3f}"})
        readings.append({"external_key": DEMO_SERIES[1]["external_key"], "time": at, "value": f"{power:.0f}"})
    body = json.dumps({"readings": readings}).encode()
    _call("POST", f"{gateway}/api/ingest/meter-readings", data=body, headers=headers)


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
    ensure_demo_readings(gateway, headers)
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
