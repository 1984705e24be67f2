"""Schemathesis over the merged OpenAPI document, through the served gateway, as the real roles.

Every operation of the gateway, the asset-service, the metering-service and the community-service's registry and
scenarios is run as each role that may call it
(platform superuser, company admin, operator, member, device machine client; anonymous for the
public auth doors) with a valid ``CompanyID``, so that requests get past authentication:

1. valid requests, built here from resources that exist (assets, a site, an inverter, users, a
   community with a cluster and a unit the member is a resident of), one
   or more per write operation, in an order that keeps their rules (lifecycle order, quarter-hour
   periods, existing ids; a user joins a company by invitation, which a company admin makes and the
   user accepts, before the admin may change or remove the membership; only the superuser adds a
   user directly): each must reach 2xx;
2. generated requests (``max_examples`` per operation and role, derandomized), with the path
   parameters of non-destructive operations bound to existing ids so that bodies are judged by
   the service rather than by a 404.

Every response must conform to the document (status documented, body schema, content type) and
none may be a 5xx. The status classes reached per operation are recorded and printed; the run
fails listing every write operation that never reached 2xx.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from community_service.scenarios.examples import LOW_PRIORITY
from gridcommons.testing.contract import contract_checks, contract_operations

from .conftest import Edge, bearer, replicate_membership
from .unit_data_edge import replicate_cluster, replicate_unit, unit_data_document

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
MAX_EXAMPLES = 8
ASSET_PREFIXES = (
    "/api/assets",
    "/api/asset-statuses",
    "/api/dispatches",
    "/api/state-snapshots",
    "/api/limits",
    "/api/forecasts",
    "/api/reservations",
    "/api/specs",
    "/api/sites",
    "/api/ingest/asset-statuses",
)
COMMUNITY_PREFIXES = ("/api/community/", "/api/staff/community/", "/api/resident/community/")
COMMUNITIES = "/api/community/communities"
SCENARIOS = "/api/community/scenarios"
METERING_PREFIXES = ("/api/metering", "/api/ingest/meter-readings")
# metering-service: unit data (seed 004 unitData)
UNIT_DATA_PREFIXES = ("/api/staff/unitData", "/api/resident/unitData", "/api/ingest/unit-data")
# metering-service: seed 001's meter registry (user views: any member; admin views: the company's admin)
METER_ADMIN_PREFIXES = ("/admin/locations", "/admin/hosts", "/admin/meters", "/admin/measurements", "/admin/registers")
METER_REGISTRY_PREFIXES = ("/user/", "/meters", *METER_ADMIN_PREFIXES)
GATEWAY_PREFIXES = ("/auth", "/api/core", "/admin/users", "/api/gateway", "/.well-known")
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
Q = timedelta(minutes=15)
_n = itertools.count(1)
PRICE = {
    "name": "PRICE_BASED",
    "floor_price": {"amount": 20, "unit": "EUR/MWh"},
    "strike_price": {"amount": "95.5", "unit": "EUR/MWh"},
}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def mw(x: object) -> dict[str, Any]:
    return {"amount": x, "unit": "MW"}


def mwh(x: object) -> dict[str, Any]:
    return {"amount": x, "unit": "MWh"}


def roles_for(method: str, path: str) -> list[str]:
    """The roles that may call an operation (README: roles per membership, platform superuser)."""
    if path.startswith(
        ("/auth/register", "/auth/login", "/auth/token", "/.well-known", "/api/core/csrftoken", "/api/core/login")
    ):
        return ["anonymous"]
    if path.startswith(("/auth", "/api/core")):
        return ["member", "operator"]
    if path.startswith("/admin/users"):
        return ["admin", "superuser"]
    if path.startswith(METER_ADMIN_PREFIXES):  # metering-service: meter registry, admin views
        return ["admin"]
    if path.startswith(("/user/", "/meters")):  # metering-service: meter registry, user views
        return ["member", "admin"]
    if path == "/api/gateway/companies":
        return ["superuser"] if method == "POST" else ["member", "superuser"]
    if path.startswith("/api/gateway/companies/"):
        return ["admin", "superuser"]
    if path.startswith("/api/gateway/machine-clients"):
        return ["admin"]
    if path.startswith("/api/gateway/invitations"):  # the invited user's own invitations: any user
        return ["member", "operator"]
    if path.startswith("/api/ingest/"):
        return ["device", "operator"]
    if path.startswith(("/api/community/", "/api/staff/community/")):
        return ["operator", "admin"]
    if path.startswith("/api/resident/community/"):
        return ["member"]  # a resident: linked to the world's unit
    # unit data: staff reads as staff, the resident read as the world unit's resident
    if path.startswith("/api/staff/unitData"):
        return ["operator", "admin"]
    if path.startswith("/api/resident/unitData"):
        return ["member"]
    if method in WRITE_METHODS:
        return ["operator", "admin"]
    return ["member", "operator", "admin"]


@dataclass
class World:
    """Resources that exist in company ``company``, made through the API."""

    company: int
    tokens: dict[str, str]
    user_ids: dict[str, int]
    passwords: dict[str, tuple[str, str]]
    asset: str = ""  # a BESS asset (specs, snapshots, limits, reservations, forecasts, statuses)
    site: str = ""
    inverter: str = ""
    community: str = "wc"  # community / cluster / unit codes of the registry (the member is the unit's resident)
    cluster: str = "wk"
    unit: str = "wu"
    spare_user: int = 0  # a user of no company, invited (and accepted) by the valid requests
    spare_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def unit_path(self) -> str:
        return f"{COMMUNITIES}/{self.community}/clusters/{self.cluster}/units/{self.unit}"

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            return {}
        h = bearer(self.tokens[role])
        if role not in ("superuser", "invitee"):
            h["CompanyID"] = str(self.company)
        return h


async def make_world(edge: Edge) -> World:
    a = await edge.company()
    tokens = {"superuser": await edge.superuser_token()}
    user_ids: dict[str, int] = {}
    passwords: dict[str, tuple[str, str]] = {}
    # "target": the member whose role generated PUTs change (not the "member" the run acts as).
    for role, membership in (("admin", "admin"), ("operator", "operator"), ("member", "member"), ("target", "member")):
        tokens[role] = await edge.user({a: membership})
        info = await edge.client.get("/auth/info", headers=bearer(tokens[role]))
        user_ids[role] = int(info.json()["id"])
    tokens["device"] = await edge.machine_client(a)
    spare_name, _, tokens["invitee"] = await edge.account()
    spare_id = int((await edge.client.get("/auth/info", headers=bearer(tokens["invitee"]))).json()["id"])
    world = World(a, tokens, user_ids, passwords, spare_user=spare_id, spare_name=spare_name)
    op = world.headers("operator")
    r = await edge.client.post(
        "/api/assets",
        json={
            "code": "ct",
            "name": "Contract",
            "type": "BESS",
            "region": "DE",
            "delivery_area": "AMPN",
            "provider": "NFT",
        },
        headers=op,
    )
    assert r.status_code == 201, r.text
    world.asset = r.json()["id"]
    r = await edge.client.post(
        "/api/sites",
        json={
            "name": "Contract site",
            "code": "ctsite",
            "region": "DE",
            "delivery_area": "AMPN",
            "dispatch_mode": PRICE,
        },
        headers=op,
    )
    assert r.status_code == 201, r.text
    world.site = r.json()["id"]
    r = await edge.client.post(
        f"/api/sites/{world.site}/inverters",
        json={
            "rated_power": mw(5),
            "charge_efficiency": 0.97,
            "discharge_efficiency": "0.96",
            "asset_ids": [world.asset],
        },
        headers=op,
    )
    assert r.status_code == 201, r.text
    world.inverter = r.json()["id"]
    for path, code in (
        (COMMUNITIES, world.community),
        (f"{COMMUNITIES}/{world.community}/clusters", world.cluster),
        (f"{COMMUNITIES}/{world.community}/clusters/{world.cluster}/units", world.unit),
    ):
        r = await edge.client.post(path, json={"code": code, "name": code.upper()}, headers=op)
        assert r.status_code == 201, r.text
    for role in ("member", "target"):
        await replicate_membership(a, user_ids[role], "member")
    r = await edge.client.put(f"{world.unit_path()}/residents/{user_ids['member']}", headers=op)
    assert r.status_code == 200, r.text
    # unit data: the world's unit in metering-service's registry replica (the edge runs no workers)
    await replicate_cluster(a, world.community, world.cluster)
    await replicate_unit(a, world.community, world.cluster, world.unit, [user_ids["member"]])
    # the world's series, linked to the world's unit: its resident (the member) reads it
    link = {"community_code": world.community, "cluster_code": world.cluster, "unit_code": world.unit}
    r = await edge.client.post(
        "/api/metering/series",
        json={"external_key": "contract/energy", "kind": "cumulative", "unit": "kWh", "units": [link]},
        headers=op,
    )
    assert r.status_code == 201, r.text
    world.extra["series"] = r.json()["id"]
    return world


# ---------------------------------------------------------------------------------------------- valid requests
@dataclass
class Valid:
    """One valid request: ``label`` is the operation, ``build`` returns the case's parts (and may make
    what the request needs first), ``after`` reads the response (to pass ids on)."""

    label: str
    role: str
    build: Callable[[Edge, World], Any]
    after: Callable[[World, Any], None] | None = None


def _set(key: str, pick: Callable[[Any], Any]) -> Callable[[World, Any], None]:
    def after(world: World, response: Any) -> None:
        world.extra[key] = pick(response.json())

    return after


async def _new_asset(edge: Edge, world: World, code: str) -> str:
    body = {"code": code, "name": code, "type": "BESS", "region": "DE", "delivery_area": "AMPN", "provider": "NFT"}
    r = await edge.client.post("/api/assets", json=body, headers=world.headers("operator"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _case(path: dict[str, Any] | None = None, body: Any = None, query: dict[str, Any] | None = None, **kw: Any):  # type: ignore[no-untyped-def]
    async def build(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": path or {}, "body": body, "query": query, **kw}

    return build


# ---- metering-service: rollups and the energy balance (a block of its own)
def metering_rollup_requests() -> list[Valid]:
    period = {"from": iso(T0), "to": iso(T0 + 4 * Q)}

    async def rollups(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"series_id": world.extra["series"]}, "query": {**period, "resolution": "1h"}}

    async def energy_balance(edge: Edge, world: World) -> dict[str, Any]:
        return {"body": {"consumption": [world.extra["series"]], **period, "tz": "Europe/Berlin"}}

    async def raw(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"series_id": world.extra["series"]}, "query": period}

    async def one_series(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"series_id": world.extra["series"]}}

    return [
        Valid("GET /api/metering/series/{series_id}/readings", "operator", rollups),
        # the member is a resident of the world's unit, which the world's series is linked to
        Valid("GET /api/metering/series/{series_id}/readings", "member", rollups),
        Valid("GET /api/metering/series/{series_id}/readings", "member", raw),
        Valid("GET /api/metering/series/{series_id}", "member", one_series),
        Valid("GET /api/metering/series", "member", _case()),
        Valid("POST /api/metering/energy-balance", "admin", energy_balance),
    ]


def valid_requests() -> list[Valid]:
    n = next(_n)

    async def new_scenario(edge: Edge, world: World) -> dict[str, Any]:
        body = {"communityId": world.community, "name": f"vs{n}", "description": "valid", "data": LOW_PRIORITY}
        return {"body": body}

    async def unit_data(edge: Edge, world: World) -> dict[str, Any]:
        docs = [unit_data_document(world.community, world.cluster, world.unit, dataset_id) for dataset_id in (0, n)]
        return {"body": {"unit_data": docs}}

    async def csv_import(edge: Edge, world: World) -> dict[str, Any]:
        text = "time,value,quality\n" + "".join(f"{iso(T0 + k * Q)},{100 + k}.5,measured\n" for k in range(4))
        return {
            "path_parameters": {"series_id": world.extra["series"]},
            "body": text.encode(),
            "media_type": "application/octet-stream",
        }

    async def cluster_query(edge: Edge, world: World) -> dict[str, Any]:
        return {"query": {"communityId": world.community, "clusterId": world.cluster}}

    async def unit_query(edge: Edge, world: World) -> dict[str, Any]:
        return {"query": {"communityId": world.community, "clusterId": world.cluster, "unitId": world.unit}}

    def on_scenario(body: Any) -> Callable[[Edge, World], Any]:
        async def build(edge: Edge, world: World) -> dict[str, Any]:
            return {"path_parameters": {"scenario_id": world.extra["scenario"]}, "body": body}

        return build

    async def asset_body(edge: Edge, world: World) -> dict[str, Any]:
        body = {
            "code": f"v{n}",
            "name": "Valid",
            "type": "BESS",
            "region": "DE",
            "delivery_area": "TNBW",
            "provider": "EBX",
        }
        return {"body": body}

    def lifecycle(action: str) -> Callable[[Edge, World], Any]:
        async def build(edge: Edge, world: World) -> dict[str, Any]:
            if "lifecycle_asset" not in world.extra:
                world.extra["lifecycle_asset"] = await _new_asset(edge, world, f"lc{n}")
            return {"path_parameters": {"asset_id": world.extra["lifecycle_asset"]}}

        return build

    async def patch_asset(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"asset_id": world.asset}, "body": {"name": "Renamed", "go_live_date": "2026-07-01"}}

    async def delete_asset(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"asset_id": await _new_asset(edge, world, f"del{n}")}}

    async def spec(edge: Edge, world: World) -> dict[str, Any]:
        body = {
            "asset_id": world.asset,
            "valid_from": iso(T0),
            "rated_power": mw(10),
            "max_capacity": mwh(20),
            "charge_efficiency": "0.95",
            "discharge_efficiency": "0.9",
        }
        return {"body": body}

    async def snapshots(edge: Edge, world: World) -> dict[str, Any]:
        return {
            "body": {"state_snapshots": [{"asset_id": world.asset, "effective_at": iso(T0), "stored_energy": mwh("5")}]}
        }

    async def forecasts(edge: Edge, world: World) -> dict[str, Any]:
        item = {
            "asset_id": world.asset,
            "start_time": iso(T0),
            "end_time": iso(T0 + Q),
            "generation": mw("1.5"),
            "consumption": mw(0),
        }
        return {"body": {"forecasts": [item]}}

    async def reservations(edge: Edge, world: World) -> dict[str, Any]:
        item = {
            "asset_id": world.asset,
            "start_time": iso(T0),
            "end_time": iso(T0 + Q),
            "market": "DA",
            "source": "OPTIMISATION",
            "power": mw("1.5"),
            "energy_change": mwh("-0.375"),
            "energy_buffer_low": mwh(0),
            "energy_buffer_high": mwh("0.5"),
        }
        return {"body": {"reservations": [item]}}

    async def patch_limits(edge: Edge, world: World) -> dict[str, Any]:
        entry = {
            "asset_id": world.asset,
            "start_time": iso(T0),
            "end_time": iso(T0 + 4 * Q),
            "source": "REPORTED",
            "power_charge": mw("-5.5"),
            "power_discharge": mw(4),
            "trading_locked": False,
        }
        return {"body": {"limits": [entry]}}

    async def delete_limits(edge: Edge, world: World) -> dict[str, Any]:
        query = {"asset_id": world.asset, "start_time": iso(T0), "end_time": iso(T0 + Q), "source": "REPORTED"}
        return {"query": query}

    async def statuses(edge: Edge, world: World) -> dict[str, Any]:
        entry = {"asset_id": world.asset, "status": "AVAILABLE", "effective_at": iso(T0), "reasons": []}
        return {"body": {"statuses": [entry]}}

    async def create_series(edge: Edge, world: World) -> dict[str, Any]:
        return {"body": {"external_key": f"valid-{n}/power", "kind": "instantaneous", "unit": "kW"}}

    async def patch_series(edge: Edge, world: World) -> dict[str, Any]:
        link = {"community_code": world.community, "cluster_code": world.cluster, "unit_code": world.unit}
        body = {"name": "Contract energy", "units": [link]}
        return {"path_parameters": {"series_id": world.extra["series"]}, "body": body}

    async def retire_series(edge: Edge, world: World) -> dict[str, Any]:
        body = {"external_key": f"retire-{n}/power", "kind": "instantaneous", "unit": "kW"}
        r = await edge.client.post("/api/metering/series", json=body, headers=world.headers("operator"))
        assert r.status_code == 201, r.text
        return {"path_parameters": {"series_id": r.json()["id"]}}

    async def meter_readings(edge: Edge, world: World) -> dict[str, Any]:
        readings = [
            {"series_id": world.extra["series"], "time": iso(T0), "value": "1200.5"},
            {"external_key": "contract/energy", "time": iso(T0 + Q), "value": 1201, "quality": "estimated"},
        ]
        return {"body": {"readings": readings}}

    async def create_site(edge: Edge, world: World) -> dict[str, Any]:
        return {
            "body": {
                "name": "Valid site",
                "code": f"vs{n}",
                "region": "DE",
                "delivery_area": "AMPN",
                "dispatch_mode": PRICE,
            }
        }

    async def patch_site(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"site_id": world.site}, "body": {"name": "Renamed site"}}

    async def site_limits(edge: Edge, world: World) -> dict[str, Any]:
        period = {"start_time": iso(T0), "end_time": iso(T0 + Q), "max_import_from_grid": mw(3)}
        return {"path_parameters": {"site_id": world.site}, "body": {"limits": [period]}}

    async def create_inverter(edge: Edge, world: World) -> dict[str, Any]:
        body = {"rated_power": mw(2), "charge_efficiency": "0.9", "discharge_efficiency": 1, "asset_ids": [world.asset]}
        return {"path_parameters": {"site_id": world.site}, "body": body}

    async def patch_inverter(edge: Edge, world: World) -> dict[str, Any]:
        return {
            "path_parameters": {"site_id": world.site, "inverter_id": world.inverter},
            "body": {"charge_efficiency": "0.5"},
        }

    async def inverter_limits(edge: Edge, world: World) -> dict[str, Any]:
        period = {"start_time": iso(T0), "end_time": iso(T0 + Q), "max_export_to_grid": mw(1)}
        return {"path_parameters": {"site_id": world.site, "inverter_id": world.inverter}, "body": {"limits": [period]}}

    async def delete_inverter(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"site_id": world.site, "inverter_id": world.extra["new_inverter"]}}

    async def delete_site(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"site_id": world.extra["new_site"]}}

    # --- metering-service: seed 001's meter registry (the member's location and host) ---
    async def registry_meter(edge: Edge, world: World) -> dict[str, Any]:
        await replicate_membership(world.company, world.user_ids["member"], "member", schema="metering")
        return {"body": {"name": f"sdm630-{n}", "type": 2}}

    async def registry_measurement(edge: Edge, world: World) -> dict[str, Any]:
        return {"body": {"measurement": f"active_power_{n}", "type": 1}}

    async def registry_register(edge: Edge, world: World) -> dict[str, Any]:
        body = {"address": 52, "measurement": f"active_power_{n}", "unit": "W", "type": 3, "function_code": 4}
        return {"body": {**body, "meter": world.extra["meter_id"]}}

    def registry_location(number: str) -> Callable[[Edge, World], Any]:
        async def build(edge: Edge, world: World) -> dict[str, Any]:
            body = {"street": "SunnyStreet", "number": f"{number}{n}", "city": "SilliconCity", "zip_code": "11-420"}
            return {"body": {**body, "user": world.user_ids["member"]}}

        return build

    async def registry_host(edge: Edge, world: World) -> dict[str, Any]:
        body = {"ip": "127.0.0.1", "port": 1, "slave_address": n % 250, "description": "contract"}
        return {
            "body": {
                **body,
                "user": world.user_ids["member"],
                "location": world.extra["pk"],
                "meter": world.extra["meter_id"],
            }
        }

    async def registry_assign(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"host_id": world.extra["host_id"]}, "body": {"measurements": [f"active_power_{n}"]}}

    async def registry_unassign(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"host_id": world.extra["host_id"]}, "query": {"measurement": [f"active_power_{n}"]}}

    # --- community-service: the registry ---
    c, k, u = "{communityId}", "{clusterId}", "{unitId}"

    async def new_community(edge: Edge, world: World) -> dict[str, Any]:
        return {"body": {"code": f"vc{n}", "name": "Valid community"}}

    async def patch_community(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"communityId": world.community}, "body": {"name": "Renamed community"}}

    async def retire_community(edge: Edge, world: World) -> dict[str, Any]:
        r = await edge.client.post(COMMUNITIES, json={"code": f"rc{n}", "name": "x"}, headers=world.headers("operator"))
        assert r.status_code == 201, r.text
        return {"path_parameters": {"communityId": f"rc{n}"}}

    async def new_cluster(edge: Edge, world: World) -> dict[str, Any]:
        return {
            "path_parameters": {"communityId": world.community},
            "body": {"code": f"vk{n}", "name": "Valid cluster"},
        }

    def cluster_ids(world: World, cluster: str | None = None) -> dict[str, str]:
        return {"communityId": world.community, "clusterId": cluster or world.cluster}

    async def patch_cluster(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": cluster_ids(world), "body": {"name": "Renamed cluster"}}

    async def retire_cluster(edge: Edge, world: World) -> dict[str, Any]:
        r = await edge.client.post(
            f"{COMMUNITIES}/{world.community}/clusters",
            json={"code": f"rk{n}", "name": "x"},
            headers=world.headers("operator"),
        )
        assert r.status_code == 201, r.text
        return {"path_parameters": cluster_ids(world, f"rk{n}")}

    async def new_unit(edge: Edge, world: World) -> dict[str, Any]:
        body = {
            "code": f"vu{n}",
            "name": "Valid unit",
            "available_from": "2027-01-01T00:00:00Z",
            "available_to": "2028-01-01T00:00:00+01:00",
        }
        return {"path_parameters": cluster_ids(world), "body": body}

    def unit_ids(world: World, unit: str | None = None) -> dict[str, str]:
        return {**cluster_ids(world), "unitId": unit or world.unit}

    async def patch_unit(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": unit_ids(world), "body": {"name": "Renamed unit", "available_to": None}}

    async def retire_unit(edge: Edge, world: World) -> dict[str, Any]:
        r = await edge.client.post(
            f"{COMMUNITIES}/{world.community}/clusters/{world.cluster}/units",
            json={"code": f"ru{n}", "name": "x"},
            headers=world.headers("operator"),
        )
        assert r.status_code == 201, r.text
        return {"path_parameters": unit_ids(world, f"ru{n}")}

    async def resident(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {**unit_ids(world), "userId": world.user_ids["target"]}}

    # --- gateway ---
    async def create_company(edge: Edge, world: World) -> dict[str, Any]:
        return {"body": {"name": f"contract-co-{n}-{world.company}"}}

    def invite(role: str, by_email: bool = False) -> Callable[[Edge, World], Any]:
        async def build(edge: Edge, world: World) -> dict[str, Any]:
            invitee = {"email": f"{world.spare_name}@example.org"} if by_email else {"username": world.spare_name}
            return {"path_parameters": {"company_id": world.company}, "body": {**invitee, "role": role}}

        return build

    def answer(key: str) -> Callable[[Edge, World], Any]:
        async def build(edge: Edge, world: World) -> dict[str, Any]:
            return {"path_parameters": {"invitation_id": world.extra[key]}}

        return build

    async def cancel_invitation(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"company_id": world.company, "invitation_id": world.extra["invitation_cancel"]}}

    async def set_member(edge: Edge, world: World) -> dict[str, Any]:
        # The spare user is a member since accepting the invitation: the admin changes the role.
        return {
            "path_parameters": {"company_id": world.company, "user_id": world.spare_user},
            "body": {"role": "operator"},
        }

    async def add_member(edge: Edge, world: World) -> dict[str, Any]:
        # Only a platform superuser adds a user who is not a member.
        token = await edge.user()
        user_id = int((await edge.client.get("/auth/info", headers=bearer(token))).json()["id"])
        return {"path_parameters": {"company_id": world.company, "user_id": user_id}, "body": {"role": "member"}}

    async def remove_member(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"company_id": world.company, "user_id": world.spare_user}}

    async def create_client(edge: Edge, world: World) -> dict[str, Any]:
        return {"body": {"name": f"contract-device-{n}", "request_budget_per_minute": 600}}

    async def revoke_client(edge: Edge, world: World) -> dict[str, Any]:
        return {"path_parameters": {"client_id": world.extra["client_id"]}}

    async def register(edge: Edge, world: World) -> dict[str, Any]:
        name = f"contract{n}x{world.company}"
        world.passwords["registered"] = (name, "Contract-Passw0rd!")
        body = {"username": name, "email": f"{name}@example.org", "password": "Contract-Passw0rd!"}
        return {"body": body}

    async def login(edge: Edge, world: World) -> dict[str, Any]:
        username, password = world.passwords["registered"]
        return {"body": {"username": username, "password": password}}

    async def token(edge: Edge, world: World) -> dict[str, Any]:
        username, password = world.passwords["registered"]
        body = {"grant_type": "password", "username": username, "password": password}
        return {"body": body, "media_type": "application/x-www-form-urlencoded"}

    async def refresh(edge: Edge, world: World) -> dict[str, Any]:
        body = {"grant_type": "refresh_token", "refresh_token": world.extra["refresh_token"]}
        return {"body": body, "media_type": "application/x-www-form-urlencoded"}

    async def core_login(edge: Edge, world: World) -> dict[str, Any]:
        username, password = world.passwords["registered"]
        csrf = (await edge.client.get("/api/core/csrftoken")).json()["csrfmiddlewaretoken"]
        world.extra["csrftoken"] = csrf
        body = {"username": username, "password": password, "csrfmiddlewaretoken": csrf}
        return {"body": body, "media_type": "application/x-www-form-urlencoded", "cookies": {"csrftoken": csrf}}

    async def core_logout(edge: Edge, world: World) -> dict[str, Any]:
        # The session of the form login above: its cookie, and the CSRF token (form field + cookie).
        csrf = world.extra["csrftoken"]
        body = {"csrfmiddlewaretoken": csrf}
        cookies = {"sessionid": world.extra["sessionid"], "csrftoken": csrf}
        return {"body": body, "media_type": "application/x-www-form-urlencoded", "cookies": cookies}

    async def logout(edge: Edge, world: World) -> dict[str, Any]:
        username, password = world.passwords["registered"]
        return {"headers": bearer(await edge.login(username, password))}

    async def change_password(edge: Edge, world: World) -> dict[str, Any]:
        username, password = world.passwords["registered"]
        token = await edge.login(username, password)
        world.passwords["registered"] = (username, password + "-new")
        return {"headers": bearer(token), "body": {"current_password": password, "new_password": password + "-new"}}

    return [
        # gateway: companies, members, machine clients, auth doors
        Valid("POST /api/gateway/companies", "superuser", create_company),
        # memberships: invite, accept, change the role, remove; decline and withdraw other invitations
        Valid(
            "POST /api/gateway/companies/{company_id}/invitations",
            "admin",
            invite("member"),
            _set("invitation_accept", lambda b: b["id"]),
        ),
        Valid("POST /api/gateway/invitations/{invitation_id}/accept", "invitee", answer("invitation_accept")),
        Valid("PUT /api/gateway/companies/{company_id}/members/{user_id}", "admin", set_member),
        Valid("PUT /api/gateway/companies/{company_id}/members/{user_id}", "superuser", add_member),
        Valid("DELETE /api/gateway/companies/{company_id}/members/{user_id}", "admin", remove_member),
        Valid(
            "POST /api/gateway/companies/{company_id}/invitations",
            "superuser",
            invite("operator", by_email=True),
            _set("invitation_decline", lambda b: b["id"]),
        ),
        Valid("POST /api/gateway/invitations/{invitation_id}/decline", "invitee", answer("invitation_decline")),
        Valid(
            "POST /api/gateway/companies/{company_id}/invitations",
            "admin",
            invite("admin"),
            _set("invitation_cancel", lambda b: b["id"]),
        ),
        Valid("DELETE /api/gateway/companies/{company_id}/invitations/{invitation_id}", "admin", cancel_invitation),
        Valid("POST /api/gateway/machine-clients", "admin", create_client, _set("client_id", lambda b: b["client_id"])),
        Valid("DELETE /api/gateway/machine-clients/{client_id}", "admin", revoke_client),
        Valid("POST /auth/register", "anonymous", register),
        Valid("POST /auth/login", "anonymous", login),
        Valid("POST /auth/token", "anonymous", token, _set("refresh_token", lambda b: b["refresh_token"])),
        Valid("POST /auth/token", "anonymous", refresh),
        Valid("POST /api/core/login", "anonymous", core_login, _set("sessionid", lambda b: b["sessionid"])),
        Valid("POST /api/core/logout", "anonymous", core_logout),
        Valid("POST /auth/logout", "anonymous", logout),
        Valid("POST /auth/password", "anonymous", change_password),
        Valid("POST /auth/login", "anonymous", login),  # the new password
        # asset-service: assets and their lifecycle
        Valid("POST /api/assets", "operator", asset_body),
        Valid("PATCH /api/assets/{asset_id}", "admin", patch_asset),
        Valid("DELETE /api/assets/{asset_id}", "operator", delete_asset),
        Valid("POST /api/assets/{asset_id}/actions/commission", "operator", lifecycle("commission")),
        Valid("POST /api/assets/{asset_id}/actions/go-live", "operator", lifecycle("go-live")),
        Valid("POST /api/assets/{asset_id}/actions/suspend", "admin", lifecycle("suspend")),
        Valid("POST /api/assets/{asset_id}/actions/resume", "operator", lifecycle("resume")),
        Valid("POST /api/assets/{asset_id}/actions/decommission", "operator", lifecycle("decommission")),
        # batches and specs on the existing asset
        Valid("PUT /api/specs", "operator", spec),
        Valid("POST /api/state-snapshots", "operator", snapshots),
        Valid("POST /api/forecasts", "operator", forecasts),
        Valid("POST /api/reservations", "admin", reservations),
        Valid("PATCH /api/limits", "operator", patch_limits),
        Valid("DELETE /api/limits", "operator", delete_limits),
        Valid("POST /api/ingest/asset-statuses", "device", statuses),
        # metering-service: series and readings
        Valid("POST /api/metering/series", "operator", create_series),
        Valid("PATCH /api/metering/series/{series_id}", "admin", patch_series),
        Valid("POST /api/metering/series/{series_id}/actions/retire", "operator", retire_series),
        Valid("POST /api/ingest/meter-readings", "device", meter_readings),
        *metering_rollup_requests(),
        # metering-service: unit data of the world's unit
        Valid("POST /api/ingest/unit-data", "device", unit_data),
        Valid("GET /api/staff/unitData/unitIdList", "operator", cluster_query),
        Valid("GET /api/staff/unitData/latestSet", "admin", cluster_query),
        Valid("GET /api/resident/unitData/latestSet", "member", unit_query),
        # metering-service: a CSV import into the world's series
        Valid("POST /api/metering/series/{series_id}/import", "operator", csv_import),
        # metering-service: seed 001's meter registry
        Valid("POST /admin/meters", "admin", registry_meter, _set("meter_id", lambda b: b["id"])),
        Valid("POST /admin/measurements", "admin", registry_measurement),
        Valid("POST /admin/registers", "admin", registry_register),
        Valid("POST /admin/locations", "admin", registry_location("A"), _set("pk", lambda b: b["id"])),
        Valid("POST /user/locations", "member", registry_location("U")),
        Valid("POST /admin/hosts", "admin", registry_host, _set("host_id", lambda b: b["id"])),
        Valid("POST /user/hosts/{host_id}/measurements", "member", registry_assign),
        Valid("DELETE /user/hosts/{host_id}/measurements", "member", registry_unassign),
        # sites and inverters
        Valid("POST /api/sites", "operator", create_site, _set("new_site", lambda b: b["id"])),
        Valid("PATCH /api/sites/{site_id}", "operator", patch_site),
        Valid("PUT /api/sites/{site_id}/limits", "operator", site_limits),
        Valid(
            "POST /api/sites/{site_id}/inverters", "operator", create_inverter, _set("new_inverter", lambda b: b["id"])
        ),
        Valid("PATCH /api/sites/{site_id}/inverters/{inverter_id}", "admin", patch_inverter),
        Valid("PUT /api/sites/{site_id}/inverters/{inverter_id}/limits", "operator", inverter_limits),
        Valid("DELETE /api/sites/{site_id}/inverters/{inverter_id}", "operator", delete_inverter),
        Valid("DELETE /api/sites/{site_id}", "operator", delete_site),
        # community-service: the registry
        Valid(f"POST {COMMUNITIES}", "operator", new_community),
        Valid(f"PATCH {COMMUNITIES}/{c}", "admin", patch_community),
        Valid(f"POST {COMMUNITIES}/{c}/retire", "operator", retire_community),
        Valid(f"POST {COMMUNITIES}/{c}/clusters", "operator", new_cluster),
        Valid(f"PATCH {COMMUNITIES}/{c}/clusters/{k}", "operator", patch_cluster),
        Valid(f"POST {COMMUNITIES}/{c}/clusters/{k}/retire", "admin", retire_cluster),
        Valid(f"POST {COMMUNITIES}/{c}/clusters/{k}/units", "admin", new_unit),
        Valid(f"PATCH {COMMUNITIES}/{c}/clusters/{k}/units/{u}", "operator", patch_unit),
        Valid(f"POST {COMMUNITIES}/{c}/clusters/{k}/units/{u}/retire", "operator", retire_unit),
        Valid(f"PUT {COMMUNITIES}/{c}/clusters/{k}/units/{u}/residents/{{userId}}", "operator", resident),
        Valid(f"DELETE {COMMUNITIES}/{c}/clusters/{k}/units/{u}/residents/{{userId}}", "admin", resident),
        # community-service: scenarios (a valid document is not something a generator finds)
        Valid(f"POST {SCENARIOS}", "operator", new_scenario, _set("scenario", lambda b: b["id"])),
        Valid(f"PATCH {SCENARIOS}/{{scenario_id}}", "admin", on_scenario({"description": "patched"})),
        Valid(f"POST {SCENARIOS}/{{scenario_id}}/retire", "operator", on_scenario(None)),
    ]


def bound_path_parameters(world: World, path: str, method: str) -> dict[str, Any] | None:
    """Existing ids for a generated request's path, or None to let the generator pick them (deletes:
    generated ids, so that the run does not remove what the other operations need)."""
    if method == "DELETE" or path.endswith("/retire"):
        return None
    known = {
        "asset_id": world.asset,
        "site_id": world.site,
        "inverter_id": world.inverter,
        "company_id": world.company,
        "user_id": world.user_ids["target"],
        "communityId": world.community,
        "clusterId": world.cluster,
        "unitId": world.unit,
        "userId": world.user_ids["target"],
        "scenario_id": world.extra.get("scenario", 1),
        "series_id": world.extra.get("series"),
        "meter_id": world.extra.get("meter_id"),  # metering-service: meter registry
        "host_id": world.extra.get("host_id"),
        "pk": world.extra.get("pk"),
    }
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    if not names or any(name not in known for name in names):
        return None
    return {name: known[name] for name in names}


# ---------------------------------------------------------------------------------------------- the run
@pytest.mark.contract
async def test_schemathesis_every_operation_as_its_roles(edge: Edge) -> None:
    from hypothesis import HealthCheck, given, settings

    world = await make_world(edge)
    doc = (await edge.client.get("/openapi.json")).json()
    # What exists behind this test gateway: its own API, the asset- and metering-service and the
    # community-service's registry and scenarios (the other upstreams are stubs).
    prefixes = (
        ASSET_PREFIXES
        + METERING_PREFIXES
        + UNIT_DATA_PREFIXES
        + METER_REGISTRY_PREFIXES
        + GATEWAY_PREFIXES
        + COMMUNITY_PREFIXES
    )
    operations = contract_operations(doc, prefixes)
    writes = sorted(label for label in operations if label.split()[0] in WRITE_METHODS)
    checks = contract_checks()
    reached: dict[str, set[str]] = defaultdict(set)
    two_xx: set[str] = set()
    generated_2xx: set[str] = set()  # reached by a generated request, not only by the valid ones
    roles_run: dict[str, set[str]] = defaultdict(set)
    failures: list[str] = []
    base_url = edge.url

    def call(operation: Any, case: Any, label: str, role: str, generated: bool = False) -> Any:
        response = case.call(base_url=base_url, timeout=20)
        reached[label].add(f"{response.status_code // 100}xx")
        roles_run[label].add(role)
        if 200 <= response.status_code < 300:
            two_xx.add(label)
            if generated:
                generated_2xx.add(label)
        case.validate_response(response, checks=checks)
        return response

    # 1. Valid requests (before the generated ones, which may trip throttles and budgets).
    unknown = []
    for valid in valid_requests():
        operation = operations.get(valid.label)
        if operation is None:
            unknown.append(valid.label)
            continue
        parts = await valid.build(edge, world)
        headers = {**world.headers(valid.role), **(parts.pop("headers", None) or {})}
        body = parts.pop("body", None)
        kwargs: dict[str, Any] = {k: v for k, v in parts.items() if v is not None}
        if body is not None:
            kwargs["body"] = body
        case = operation.Case(headers=headers, **kwargs)
        try:
            response = await asyncio.to_thread(call, operation, case, valid.label, valid.role)
        except AssertionError as exc:
            failures.append(f"valid {valid.label} as {valid.role}: {str(exc)[:1500]}")
            continue
        if not 200 <= response.status_code < 300:
            failures.append(f"valid {valid.label} as {valid.role}: {response.status_code} {response.text[:500]}")
        elif valid.after is not None:
            valid.after(world, response)
    if unknown:  # an operation that is gone; a renamed one is caught below (it never reaches 2xx)
        print("valid requests for operations the document does not have:", unknown)

    # 2. Generated requests, as every role that may call the operation.
    def fuzz_one(operation: Any, label: str, role: str, headers: dict[str, str], strategy: Any) -> None:
        @given(case=strategy)
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case: Any) -> None:
            case.headers = {**(case.headers or {}), **headers}
            call(operation, case, label, role, generated=True)

        try:
            check()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # collect every operation's failure, report all at the end
            failures.append(f"{label} as {role}: {str(exc)[:1500]}")

    def fuzz() -> None:
        for label, operation in operations.items():
            method, path = label.split(" ", 1)
            for role in roles_for(method, path):
                headers = world.headers(role)
                if path in ("/auth/logout", "/api/core/logout"):
                    headers = {}  # no session of this run is ended by a generated request
                bound = bound_path_parameters(world, path, method)
                strategy = operation.as_strategy(path_parameters=bound) if bound else operation.as_strategy()
                fuzz_one(operation, label, role, headers, strategy)

    await asyncio.to_thread(fuzz)
    summary = "\n".join(
        f"  {label}: {' '.join(sorted(reached[label]))} as {','.join(sorted(roles_run[label]))}"
        + (" (2xx from generated requests too)" if label in generated_2xx else "")
        for label in sorted(operations)
    )
    print(f"schemathesis: {len(operations)} operations, status classes reached:\n{summary}")
    assert not failures, "\n\n".join(failures)
    never = [label for label in writes if label not in two_xx]
    assert not never, f"write operations that never reached 2xx: {never}"
    assert not any("5xx" in classes for classes in reached.values())
    assert len(operations) >= 70 and "POST /api/assets" in operations, sorted(operations)
    assert "GET /api/resident/community/outline" in operations, sorted(operations)
    # Every operation ran as every role that may call it.
    for label in operations:
        method, path = label.split(" ", 1)
        assert set(roles_for(method, path)) <= roles_run[label], (label, roles_run[label])
