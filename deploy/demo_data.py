"""Load the demo tenant (idempotent): users, company and device client in the gateway's
database, then a few assets, a community registry (a community, two clusters, a few units, the
demo member linked to one) with two scenarios, two metering series with a day of readings, and the meter
registry (SDM630/SDM120 models, the demo member's host on the simulated meter), created through the
gateway's public API like any client would.

Run by `make run` after every process answers; prints the credentials it ensured.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

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


# community -> cluster -> [(unit code, name, available_from, available_to)]
DEMO_COMMUNITY = {"code": "demo_community", "name": "Demo Community"}
DEMO_CLUSTERS: dict[str, tuple[str, list[tuple[str, str, str | None, str | None]]]] = {
    "north": ("North cluster", [("E001", "House 1", None, None), ("E002", "House 2", None, None)]),
    "south": (
        "South cluster",
        [
            ("E003", "House 3", None, None),
            ("E004", "School roof", "2026-01-01T00:00:00Z", None),
            ("E005", "Old barn", None, "2026-01-01T00:00:00Z"),
        ],
    ),
}
DEMO_RESIDENT_UNIT = ("north", "E001")  # the demo member's unit


def _call(method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> object:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def _exists(url: str, headers: dict[str, str]) -> bool:
    try:
        _call("GET", url, headers=headers)
        return True
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise


def ensure_community(gateway: str, headers: dict[str, str], member_id: int) -> None:
    """The demo registry, created where missing, and the demo member linked to their unit."""
    base = f"{gateway}/api/community/communities"
    code = DEMO_COMMUNITY["code"]
    if not _exists(f"{base}/{code}", headers):
        _call("POST", base, data=json.dumps(DEMO_COMMUNITY).encode(), headers=headers)
    for cluster, (name, units) in DEMO_CLUSTERS.items():
        clusters = f"{base}/{code}/clusters"
        if not _exists(f"{clusters}/{cluster}", headers):
            _call("POST", clusters, data=json.dumps({"code": cluster, "name": name}).encode(), headers=headers)
        for unit, unit_name, start, end in units:
            path = f"{clusters}/{cluster}/units"
            if not _exists(f"{path}/{unit}", headers):
                body = {"code": unit, "name": unit_name, "available_from": start, "available_to": end}
                _call("POST", path, data=json.dumps(body).encode(), headers=headers)
    cluster, unit = DEMO_RESIDENT_UNIT
    link = f"{base}/{code}/clusters/{cluster}/units/{unit}/residents/{member_id}"
    # community-service learns the membership from the gateway's events: retry until it has.
    deadline = time.monotonic() + 60
    while True:
        try:
            _call("PUT", link, headers=headers)
            return
        except urllib.error.HTTPError as exc:
            if exc.code != 422 or time.monotonic() > deadline:
                raise
            time.sleep(1)


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


def demo_unit_data_report(
    at: datetime, modes: dict[str, str] | None = None, silent: tuple[str, ...] = ()
) -> list[dict]:
    """One report (apis-ccc's unitData) of the demo units available at ``at``: a datasetId shared by
    all of them (epoch milliseconds), battery and APIS state varying per unit; the grid master is E001.
    ``modes``: a unit's effective operation mode other than autonomous; ``silent``: units left out."""
    dataset_id = int(at.timestamp() * 1000)
    documents = []
    n = 0
    for cluster, (_, units) in DEMO_CLUSTERS.items():
        for unit, _name, start, end in units:
            if (start and at < datetime.fromisoformat(start)) or (end and at >= datetime.fromisoformat(end)):
                continue  # not available now
            if unit in silent:
                continue
            n += 1
            rsoc = 35.0 + 9.5 * n
            documents.append(
                {
                    "emu": {"charge_discharge_power": 120.0 * n, "rsoc": rsoc, "battery_voltage": 52.1},
                    "dcdc": {
                        "status": {"status": "0x0000", "alarmState": "No alarm", "operationMode": "Waiting"},
                        "meter": {"wg": 0, "tmp": 26.5, "vb": 48, "wb": -4.5, "vg": 0, "ib": -0.09, "ig": 0},
                    },
                    "oesunit": {
                        "communityId": DEMO_COMMUNITY["code"],
                        "clusterId": cluster,
                        "id": unit,
                        "display": unit,
                        "sn": str(n),
                        "budo": "1",
                        "ip": f"192.168.0.{10 + n}",
                        "ipv6_ll": "NA",
                        "ipv6_g": "NA",
                        "mac": f"02:00:00:00:00:{n:02x}",
                    },
                    "time": at.isoformat().replace("+00:00", "Z"),
                    "battery": {"rsoc": rsoc, "battery_operation_status": None},
                    "apis": {
                        "version": "3.0.0",
                        "remaining_capacity_wh": int(48 * rsoc),
                        "deal_interlock_capacity": 2,
                        "is_grid_master": unit == "E001",
                        "operation_mode": {
                            "global": "autonomous",
                            "local": None,
                            "effective": (modes or {}).get(unit, "autonomous"),
                        },
                    },
                    "datasetId": dataset_id,
                }
            )
    return documents


def ensure_demo_unit_data(gateway: str, headers: dict[str, str]) -> None:
    """The demo units' reports every 30 s over the last hour up to the current 30 s slot (a report already
    stored changes nothing), so that deal-service's downtime shows something: E002 in heteronomous mode for
    10 minutes (a downtime), E003 silent for 5 minutes (a data loss). From then on the units are silent, so
    the silence check opens a downtime for each within DEAL_DATA_LOSS_TOLERANCE_SEC (120 s)."""
    now = datetime.now(UTC)
    slot = now.replace(second=now.second - now.second % 30, microsecond=0)
    documents = []
    for k in range(120, -1, -1):  # k slots of 30 s ago
        modes = {"E002": "heteronomous"} if 40 <= k < 60 else None
        silent = ("E003",) if 20 <= k < 30 else ()
        documents += demo_unit_data_report(slot - timedelta(seconds=30 * k), modes, silent)
    body = json.dumps({"unit_data": documents}).encode()
    # metering-service learns the units from community-service's events: retry until it has them.
    deadline = time.monotonic() + 60
    while True:
        try:
            _call("POST", f"{gateway}/api/ingest/unit-data", data=body, headers=headers)
            return
        except urllib.error.HTTPError as exc:
            if exc.code != 422 or time.monotonic() > deadline:
                raise
            time.sleep(1)


# The demo member's meter: a simulated SDM630 that `make run` serves on 127.0.0.1 (GC_DEMO_MODBUS_PORT).
DEMO_HOST_MEASUREMENTS = ["active_power", "voltage_l1", "active_energy_consumed", "active_energy_produced"]


def _token(gateway: str, username: str, password: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "password", "username": username, "password": password}).encode()
    token = _call(
        "POST", f"{gateway}/auth/token", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert isinstance(token, dict)
    return str(token["access_token"])


def ensure_demo_meters(gateway: str, company_id: str, member_id: int, port: int) -> None:
    """Seed 001's registry: the SDM630 and SDM120 models with their registers, the demo member's location
    and a host on the simulated meter with four measurements assigned (the worker polls it)."""
    from metering_service.modbus.sdm import MODELS

    def headers(username: str, password: str) -> dict[str, str]:
        token = _token(gateway, username, password)
        return {"Authorization": f"Bearer {token}", "CompanyID": company_id, "Content-Type": "application/json"}

    admin, member = headers("demo-admin", "demo-admin-pass"), headers("demo-member", "demo-member-pass")

    def post(path: str, body: dict, as_: dict[str, str]) -> object:
        return _call("POST", f"{gateway}{path}", data=json.dumps(body).encode(), headers=as_)

    meters = {m["name"]: m["id"] for m in _call("GET", f"{gateway}/admin/meters", headers=admin)}  # type: ignore[attr-defined]
    measurements = {m["measurement"] for m in _call("GET", f"{gateway}/admin/measurements", headers=admin)}  # type: ignore[attr-defined]
    for model, (meter_type, specs) in MODELS.items():
        if model in meters:
            continue
        meters[model] = post("/admin/meters", {"name": model, "type": meter_type}, admin)["id"]  # type: ignore[index]
        for spec in specs:
            if spec.measurement not in measurements:
                post("/admin/measurements", {"measurement": spec.measurement, "type": spec.measurement_type}, admin)
                measurements.add(spec.measurement)
            register = {"address": spec.address, "measurement": spec.measurement, "unit": spec.unit,
                        "type": int(spec.data_type), "function_code": spec.function_code, "meter": meters[model]}  # fmt: skip
            post("/admin/registers", register, admin)
    hosts = _call("GET", f"{gateway}/user/hosts", headers=member)
    assert isinstance(hosts, list)
    if any(h["port"] == port and h["ip"] == "127.0.0.1" for h in hosts):
        return
    locations = _call("GET", f"{gateway}/user/locations", headers=member)
    assert isinstance(locations, list)
    if locations:
        location = locations[0]["id"]
    else:
        body = {"user": member_id, "street": "Sloneczna", "number": "12", "city": "Katowice", "zip_code": "40-001"}
        for attempt in range(60):  # the membership replica of metering-service follows the gateway's events
            try:
                location = post("/user/locations", body, member)["id"]  # type: ignore[index]
                break
            except urllib.error.HTTPError as exc:
                if exc.code != 403 or attempt == 59:
                    raise
                time.sleep(0.5)
    host = {"ip": "127.0.0.1", "port": port, "slave_address": 1, "description": "Demo SDM630 (simulated)",
            "user": member_id, "location": location, "meter": meters["sdm630"], "poll_interval_seconds": 15}  # fmt: skip
    host_id = post("/admin/hosts", host, admin)["id"]  # type: ignore[index]
    post(f"/user/hosts/{host_id}/measurements", {"measurements": DEMO_HOST_MEASUREMENTS}, member)


async def ensure_tenant() -> dict:
    engine = make_engine(InfraSettings(), application_name="demo-data")
    try:
        return await ensure_demo_tenant(make_sessionmaker(engine))
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------------------------- deals
# (cluster, deal id, requester, accepter, type, created, shared Wh) between the demo registry's units
# (demo_community: north E001/E002, south E003/E004); the reports are final (stopped, deactivated).
DEMO_DEALS = [
    ("north", "demo-deal-1", "E001", "E002", "charge", "2026-11-30T07:05:40Z", 48.5),
    ("north", "demo-deal-2", "E002", "E001", "discharge", "2026-11-30T12:20:00Z", 50.0),
    ("north", "demo-deal-3", "E001", "E002", "discharge", "2026-11-30T18:45:10Z", 21.25),
    ("south", "demo-deal-4", "E003", "E004", "charge", "2026-11-30T10:00:00Z", 35.0),
]


def demo_deal_reports() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for cluster, deal_id, requester, accepter, kind, created, wh in DEMO_DEALS:
        charging, discharging = (requester, accepter) if kind == "charge" else (accepter, requester)
        start = created[:-3] + "50Z"  # a few seconds after creation
        end = created[:14] + "59:00Z"
        out.append(
            {
                "unitId": requester,
                "requestUnitId": requester,
                "acceptUnitId": accepter,
                "type": kind,
                "chargeUnitId": charging,
                "dischargeUnitId": discharging,
                "pointPerWh": 10.0,
                "dealGridCurrentA": 1.0,
                "requestAmountWh": 50,
                "acceptAmountWh": 50,
                "dealAmountWh": 50,
                "dealId": deal_id,
                "createDateTime": created,
                "activateDateTime": start,
                "startDateTime": start,
                "cumulateDateTime": end,
                "cumulateAmountWh": wh,
                "stopDateTime": end,
                "deactivateDateTime": end,
                "isMaster": deal_id == "demo-deal-1",
                "communityId": "demo_community",
                "clusterId": cluster,
                "reportTime": 1796000000,  # fixed: loading the demo again changes nothing
            }
        )
    return out


def ensure_demo_deals(gateway: str, headers: dict[str, str]) -> None:
    """A few finished deals between the demo units, through the ingestion door (upserted by dealId).
    deal-service learns the registry from community-service's events: retry while it answers 422
    (up to 60 s; then the deals are skipped with a message, the rest of the demo stands)."""
    try:
        _call("GET", f"{gateway}/api/community/communities/demo_community", headers=headers)
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
        print("demo deals skipped: no demo community in the registry")
        return
    body = json.dumps({"deals": demo_deal_reports()}).encode()
    deadline = time.monotonic() + 60
    while True:
        try:
            _call("POST", f"{gateway}/api/ingest/deals", data=body, headers=headers)
            return
        except urllib.error.HTTPError as exc:
            if exc.code != 422:
                raise
            if time.monotonic() > deadline:  # the demo registry is missing: the rest of the demo stands
                print(f"demo deals skipped: {exc.read().decode(errors='replace')[:300]}")
                return
            time.sleep(1)


def demo_logs(at: datetime) -> list[dict[str, object]]:
    """Program log lines of the north cluster a few seconds before ``at``: both units' apis-main alive,
    the GridMaster on E001, apis-ccc reporting, and one SEVERE line of E002's apis-main (a failure of
    apis_main_severe at the next pass; the alive jobs open theirs once the lines are a minute old)."""
    t = (at - timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    base = {"communityId": DEMO_COMMUNITY["code"], "clusterId": "north", "datetime": t}
    main = {**base, "programId": "apis-main", "loggername": "jp.co.sony.csl.dcoes.apis.main.app.Demo"}
    return [
        {**main, "unitId": "E001", "loglevel": "INFO", "message": "uri : http://0.0.0.0:4390/get"},
        {**main, "unitId": "E002", "loglevel": "INFO", "message": "uri : http://0.0.0.0:4390/get"},
        {**main, "unitId": "E001", "loglevel": "INFO", "message": "gridMasterUnitId : E001"},
        {
            **main,
            "unitId": "E002",
            "loglevel": "SEVERE",
            "loggername": "io.vertx.core.impl.ContextImpl",
            "message": "Unhandled exception: battery controller timeout",
        },
        {**base, "programId": "apis-ccc", "loglevel": "INFO", "message": "reporting unit data to : 127.0.0.1"},
    ]


def ensure_demo_logs(gateway: str, headers: dict[str, str]) -> None:
    """A few program log lines through the ingestion door (monitoring-service learns the registry from
    community-service's events: retry while it answers 422, up to 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        body = json.dumps({"logs": demo_logs(datetime.now(UTC))}).encode()
        try:
            _call("POST", f"{gateway}/api/ingest/logs", data=body, headers=headers)
            return
        except urllib.error.HTTPError as exc:
            if exc.code != 422:
                raise
            if time.monotonic() > deadline:
                print(f"demo logs skipped: {exc.read().decode(errors='replace')[:300]}")
                return
            time.sleep(1)


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
    ensure_community(gateway, headers, int(info["users"]["member"]["id"]))
    ensure_demo_scenarios(gateway, headers)
    ensure_demo_readings(gateway, headers)
    ensure_demo_deals(gateway, headers)
    ensure_demo_unit_data(gateway, headers)
    ensure_demo_logs(gateway, headers)
    if os.environ.get("GC_DEMO_MODBUS_PORT"):
        ensure_demo_meters(
            gateway, company_id, int(info["users"]["member"]["id"]), int(os.environ["GC_DEMO_MODBUS_PORT"])
        )
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
    print(
        f"  curl -H \"Authorization: Bearer $TOKEN\" -H 'CompanyID: {company_id}' {gateway}/api/staff/community/outline"
    )
    print(
        f"  curl -H \"Authorization: Bearer $TOKEN\" -H 'CompanyID: {company_id}' "
        f"'{gateway}/api/staff/unitData/latestSet?communityId={DEMO_COMMUNITY['code']}&clusterId=north'"
    )
    print(
        f"  curl -H \"Authorization: Bearer $TOKEN\" -H 'CompanyID: {company_id}' "
        f"'{gateway}/api/staff/monitoring/failure/openList?communityId={DEMO_COMMUNITY['code']}&clusterId=north'"
        "  (the monitoring jobs pass every minute)"
    )
    print(
        f"  curl -H \"Authorization: Bearer $TOKEN\" -H 'CompanyID: {company_id}' "
        f"'{gateway}/api/staff/downtime/list?communityId={DEMO_COMMUNITY['code']}&clusterId=north'"
    )


if __name__ == "__main__":
    try:
        main()
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"demo data: {exc.code} {exc.read().decode(errors='replace')}") from exc
