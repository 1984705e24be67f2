"""An SDK generated from the served merged OpenAPI document (openapi-python-client) works.

The generator must not warn about anything (a warning means a schema or an operation was left out
of the SDK, e.g. two components with the same title), and a short scenario through the generated
async client against the running gateway + asset-service gets the typed responses the document
promises, with ``raise_on_unexpected_status=True`` (an undocumented status is an error).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import Edge, bearer, replicate_membership
from .unit_data_edge import replicate_cluster, replicate_unit, unit_data_document

PACKAGE = "gridcommons_sdk"
T0 = datetime(2031, 3, 3, tzinfo=UTC)
Q = timedelta(minutes=15)


def _generator() -> Path:
    exe = Path(sys.executable).parent / "openapi-python-client"
    assert exe.exists(), "openapi-python-client is not installed (requirements-dev.txt)"
    return exe


async def generate_sdk(doc: dict[str, Any], workdir: Path) -> tuple[int, str]:
    """Run the generator over ``doc`` with --fail-on-warning; returns (exit code, output)."""
    spec = workdir / "openapi.json"
    spec.write_text(json.dumps(doc))
    config = workdir / "config.yaml"
    config.write_text(f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n")
    proc = await asyncio.create_subprocess_exec(
        str(_generator()),
        "generate",
        "--path",
        str(spec),
        "--meta",
        "none",
        "--output-path",
        str(workdir / PACKAGE),
        "--config",
        str(config),
        "--fail-on-warning",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode("utf-8", "replace")


@pytest.fixture
def sdk_import(tmp_path: Path) -> Iterator[Callable[[str], ModuleType]]:
    sys.path.insert(0, str(tmp_path))

    def load(name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{name}" if name else PACKAGE)

    try:
        yield load
    finally:
        sys.path.remove(str(tmp_path))
        for mod in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[mod]


async def test_generated_sdk_runs_a_scenario(edge: Edge, tmp_path: Path, sdk_import: Any) -> None:
    r = await edge.client.get("/openapi.json")
    assert r.status_code == 200
    code, output = await generate_sdk(r.json(), tmp_path)
    assert code == 0 and "Warning" not in output and "Unable to" not in output, output

    client_mod = sdk_import("client")
    m = sdk_import("models")
    api = {
        name: sdk_import(f"api.{name}")
        for name in (
            "assets",
            "asset_lifecycle",
            "limits",
            "state_snapshots",
            "reservations",
            "sites",
            "specs",
            "communities",
            "clusters",
            "units",
            "unit_residents",
            "community_outline",
        )
    }

    def op(group: str, prefix: str) -> Callable[..., Awaitable[Any]]:
        """The async function of the operation named ``prefix`` (FastAPI operation ids are ``<function>_<path>_<method>``)."""
        pkg = api[group]
        names = [p.stem for p in Path(pkg.__file__ or "").parent.glob(f"{prefix}_api_*.py")]
        assert len(names) == 1, (group, prefix, names)
        fn = importlib.import_module(f"{pkg.__name__}.{names[0]}").asyncio
        return fn  # type: ignore[no-any-return]

    company = await edge.company()
    token = await edge.user({company: "operator"})
    # CompanyID is an API-key security scheme, not an operation parameter: the generated functions
    # take no company argument and the client sends the header on every request (gateway README).
    client = client_mod.AuthenticatedClient(
        base_url=edge.url, token=token, headers={"CompanyID": str(company)}, raise_on_unexpected_status=True
    )

    async def call(group: str, prefix: str, *args: Any, **kwargs: Any) -> Any:
        fn = op(group, prefix)
        params = inspect.signature(fn).parameters
        assert not {"company_id", "companyid", "company_id_header"} & set(params), (prefix, list(params))
        return await fn(*args, client=client, **kwargs)

    def iso(t: datetime) -> str:
        return t.isoformat().replace("+00:00", "Z")

    # Assets: create, patch, lifecycle.
    created = await call(
        "assets",
        "create_asset",
        body=m.CreateAssetRequest.from_dict(
            {
                "code": "SDK1",
                "name": "SDK asset",
                "type": "BESS",
                "region": "DE",
                "delivery_area": "AMPN",
                "provider": "EBX",
            }
        ),
    )
    assert isinstance(created, m.AssetResponse), created
    asset_id = created.id
    assert asset_id.startswith("DE_AMPN_SDK1_") and created.lifecycle == m.AssetLifecycle.DRAFT
    patched = await call("assets", "patch_asset", asset_id, body=m.PatchAssetRequest.from_dict({"name": "Renamed"}))
    assert isinstance(patched, m.AssetResponse) and patched.name == "Renamed" and patched.type_ == m.AssetType.BESS
    commissioned = await call("asset_lifecycle", "commission_asset", asset_id)
    assert isinstance(commissioned, m.AssetResponse) and commissioned.lifecycle == m.AssetLifecycle.COMMISSIONING
    live = await call("asset_lifecycle", "go_live_asset", asset_id)
    assert isinstance(live, m.AssetResponse) and live.lifecycle == m.AssetLifecycle.LIVE and live.go_live_date
    got = await call("assets", "get_asset", asset_id)
    assert isinstance(got, m.AssetResponse) and (got.name, got.lifecycle) == ("Renamed", m.AssetLifecycle.LIVE)

    # Period limits: upsert two quarter hours, read them back with their quantities.
    written = await call(
        "limits",
        "patch_limits",
        body=m.PatchLimitsRequest.from_dict(
            {
                "limits": [
                    {
                        "asset_id": asset_id,
                        "start_time": iso(T0),
                        "end_time": iso(T0 + 2 * Q),
                        "source": "OPERATIONS",
                        "power_charge": {"amount": "5.5", "unit": "MW"},
                        "energy_high": {"amount": "20", "unit": "MWh"},
                    }
                ]
            }
        ),
    )
    assert isinstance(written, m.PatchLimitsResponse) and written.rows == 2
    page = await call("limits", "get_limits", asset_ids=[asset_id], from_=T0, to=T0 + 4 * Q)
    assert isinstance(page, m.LimitsPage) and len(page.limits) == 2
    first = page.limits[0]
    assert first.start_time == T0 and first.end_time == T0 + Q
    assert isinstance(first.computed_limits.power_charge, m.Power)
    assert (first.computed_limits.power_charge.amount, first.computed_limits.power_charge.unit.value) == ("5.5", "MW")
    assert first.computed_limits.energy_high.amount == "20" and first.sources[0].source == m.LimitSource.OPERATIONS

    # State snapshots: two readings, the second derives the charged energy.
    snaps = await call(
        "state_snapshots",
        "upsert_state_snapshots",
        body=m.UpsertStateSnapshotsRequest.from_dict(
            {
                "state_snapshots": [
                    {"asset_id": asset_id, "effective_at": iso(T0), "stored_energy": {"amount": "10", "unit": "MWh"}},
                    {
                        "asset_id": asset_id,
                        "effective_at": iso(T0 + Q),
                        "stored_energy": {"amount": "12.25", "unit": "MWh"},
                    },
                ]
            }
        ),
    )
    assert isinstance(snaps, m.UpsertStateSnapshotsResponse) and len(snaps.state_snapshots) == 2
    read = await call("state_snapshots", "read_state_snapshots", asset_ids=[asset_id], from_=T0, to=T0 + 4 * Q)
    assert isinstance(read, m.StateSnapshotListResponse)
    by_time = {s.effective_at: s for s in read.state_snapshots}
    assert by_time[T0 + Q].stored_energy.amount == "12.25" and by_time[T0 + Q].charged_energy.amount == "2.25"
    assert read.total_charged_energy.amount == "2.25" and read.total_charged_energy.unit.value == "MWh"

    # Reservations.
    res = await call(
        "reservations",
        "upsert_reservations",
        body=m.UpsertReservationsRequest.from_dict(
            {
                "reservations": [
                    {
                        "asset_id": asset_id,
                        "start_time": iso(T0),
                        "end_time": iso(T0 + Q),
                        "market": "DA",
                        "source": "OPTIMISATION",
                        "power": {"amount": "-3", "unit": "MW"},
                        "energy_change": {"amount": "0.75", "unit": "MWh"},
                        "energy_buffer_low": {"amount": "1", "unit": "MWh"},
                        "energy_buffer_high": {"amount": "2", "unit": "MWh"},
                    }
                ]
            }
        ),
    )
    assert isinstance(res, m.UpsertReservationsResponse) and len(res.reservations) == 1
    listed = await call("reservations", "list_reservations", asset_ids=[asset_id], from_=T0, to=T0 + Q)
    assert isinstance(listed, m.ReservationListResponse) and len(listed.reservations) == 1
    reservation = listed.reservations[0]
    assert (reservation.market, reservation.power.amount, reservation.energy_change.amount) == ("DA", "-3", "0.75")

    # A technical spec version.
    spec = await call(
        "specs",
        "upsert_spec",
        body=m.UpsertSpecRequest.from_dict(
            {"asset_id": asset_id, "valid_from": iso(T0), "rated_power": {"amount": "10", "unit": "MW"}}
        ),
    )
    assert isinstance(spec, m.SpecResponse) and spec.rated_power.amount == "10" and spec.valid_to is None

    # Sites and inverters.
    site = await call(
        "sites",
        "create_site",
        body=m.CreateSiteRequest.from_dict(
            {
                "name": "SDK site",
                "code": "SDKS",
                "region": "DE",
                "delivery_area": "AMPN",
                "dispatch_mode": {
                    "name": "PRICE_BASED",
                    "floor_price": {"amount": "10", "unit": "EUR/MWh"},
                    "strike_price": {"amount": "90.5", "unit": "EUR/MWh"},
                },
            }
        ),
    )
    assert isinstance(site, m.SiteResponse) and site.inverters == []
    inverter = await call(
        "sites",
        "create_inverter",
        site.id,
        body=m.CreateSiteInverterRequest.from_dict(
            {
                "rated_power": {"amount": "4", "unit": "MW"},
                "charge_efficiency": "0.95",
                "discharge_efficiency": 0.9,
                "asset_ids": [asset_id],
            }
        ),
    )
    assert isinstance(inverter, m.SiteInverterResponse) and inverter.asset_ids == [asset_id]
    fetched = await call("sites", "get_site", site.id)
    assert isinstance(fetched, m.SiteResponse)
    assert fetched.dispatch_mode.name == m.DispatchModeName.PRICE_BASED
    assert (fetched.dispatch_mode.floor_price.amount, fetched.dispatch_mode.strike_price.amount) == ("10", "90.5")
    assert fetched.dispatch_mode.floor_price.unit.value == "EUR/MWh"
    assert [i.id for i in fetched.inverters] == [inverter.id] and fetched.inverters[0].discharge_efficiency == "0.9"

    # The community registry: community, cluster, unit with a window, the caller linked as its resident,
    # both outlines.
    community = await call(
        "communities",
        "create_community",
        body=m.CreateCommunityRequest.from_dict({"code": "sdk_c", "name": "SDK community"}),
    )
    assert isinstance(community, m.CommunityResponse) and (community.code, community.version) == ("sdk_c", 1)
    cluster = await call(
        "clusters", "create_cluster", "sdk_c", body=m.CreateClusterRequest.from_dict({"code": "k1", "name": "K1"})
    )
    assert isinstance(cluster, m.ClusterResponse) and cluster.community_code == "sdk_c"
    unit = await call(
        "units",
        "create_unit",
        "sdk_c",
        "k1",
        body=m.CreateUnitRequest.from_dict({"code": "E001", "name": "House 1", "available_from": iso(T0)}),
    )
    assert isinstance(unit, m.UnitResponse) and unit.available_from == T0 and unit.resident_ids == []
    renamed = await call(
        "units", "patch_unit", "sdk_c", "k1", "E001", body=m.PatchUnitRequest.from_dict({"name": "House one"})
    )
    assert isinstance(renamed, m.UnitResponse) and (renamed.name, renamed.version) == ("House one", 2)
    me = int((await edge.client.get("/auth/info", headers=bearer(token))).json()["id"])
    await replicate_membership(company, me, "operator")
    linked = await call("unit_residents", "link_resident", "sdk_c", "k1", "E001", me)
    assert isinstance(linked, m.ResidentResponse) and linked.user_id == me
    residents = await call("unit_residents", "list_residents", "sdk_c", "k1", "E001")
    assert isinstance(residents, m.ResidentListResponse) and [x.user_id for x in residents.residents] == [me]
    staff = await call("community_outline", "staff_outline")
    assert isinstance(staff, m.OutlineResponse)
    staff_unit = staff.communities["sdk_c"].clusters["k1"].units["E001"]
    assert (staff_unit.id, staff_unit.name, staff_unit.available_from) == ("E001", "House one", T0)
    assert staff_unit.community_id == "sdk_c" and staff_unit.cluster_id == "k1" and staff_unit.available_to is None
    before = await call("community_outline", "staff_outline", asof=T0 - Q)
    assert (
        isinstance(before, m.OutlineResponse)
        and before.communities["sdk_c"].clusters["k1"].units.additional_properties == {}
    )
    mine = await call("community_outline", "resident_outline")
    assert isinstance(mine, m.OutlineResponse) and list(mine.communities.additional_properties) == ["sdk_c"]
    retired = await call("communities", "retire_community", "sdk_c")
    assert isinstance(retired, m.CommunityResponse) and retired.retired_at is not None
    await call("unit_residents", "unlink_resident", "sdk_c", "k1", "E001", me)
    listed_communities = await call("communities", "list_communities", include_retired=True)
    assert isinstance(listed_communities, m.CommunityListResponse)
    assert [x.code for x in listed_communities.communities] == ["sdk_c"]
    # Metering: a series, a batch of readings through the ingestion door, the readings read back.
    metering = {name: sdk_import(f"api.{name}") for name in ("series", "readings", "ingestion")}
    api.update(metering)
    series = await call(
        "series",
        "create_series",
        body=m.CreateSeriesRequest.from_dict({"external_key": "sdk-meter/import", "kind": "cumulative", "unit": "kWh"}),
    )
    assert isinstance(series, m.SeriesResponse) and series.unit == m.Unit.KWH and series.timezone == "Europe/Paris"
    renamed = await call(
        "series", "patch_series", series.id, body=m.PatchSeriesRequest.from_dict({"name": "SDK meter"})
    )
    assert renamed.name == "SDK meter"
    t0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    written = await call(
        "ingestion",
        "ingest_meter_readings",
        body=m.IngestReadingsRequest.from_dict(
            {
                "readings": [
                    {"series_id": series.id, "time": iso(t0), "value": "10.5"},
                    {"external_key": "sdk-meter/import", "time": iso(t0 + timedelta(minutes=15)), "value": 11},
                ]
            }
        ),
    )
    assert isinstance(written, m.IngestReadingsResponse) and written.written == 2
    page = await call("readings", "list_readings", series.id, from_=t0, to=t0 + timedelta(hours=1))
    assert isinstance(page, m.ReadingListResponse)
    assert [(r.value, r.quality) for r in page.readings] == [("10.5", m.Quality.MEASURED), ("11", m.Quality.MEASURED)]
    # ---- Metering rollups and the energy balance (a block of its own).
    api["energy_balance"] = sdk_import("api.energy_balance")
    rolled = await call(
        "readings", "list_readings", series.id, from_=t0, to=t0 + timedelta(minutes=30), resolution=m.Resolution("15m")
    )
    assert isinstance(rolled, m.ReadingListResponse) and rolled.readings == []
    assert [(b.value, b.coverage.received, b.coverage.expected) for b in rolled.buckets] == [
        ("0.5", 1, 1),
        (None, 0, 1),
    ]
    assert rolled.buckets[0].start == t0 and rolled.timezone == "Europe/Paris"
    balance = await call(
        "energy_balance",
        "energy_balance",
        body=m.EnergyBalanceRequest.from_dict(
            {"consumption": [series.id], "from": iso(t0), "to": iso(t0 + timedelta(minutes=30)), "tz": "Europe/Paris"}
        ),
    )
    assert isinstance(balance, m.EnergyBalanceResponse) and balance.unit == "kWh"
    assert [(i.consumption, i.from_grid, i.coverage.received) for i in balance.intervals] == [
        ("0.5", "0.5", 1),
        ("0", "0", 0),
    ]
    assert [d.day.isoformat() for d in balance.days] == ["2027-01-15"] and balance.total.consumption == "0.5"

    # ---- unit data (seed 004 unitData): a report through the ingestion door, the staff and resident reads
    api["unit_data"] = sdk_import("api.unit_data")
    await replicate_cluster(company, "sdk_ud", "k1")
    await replicate_unit(company, "sdk_ud", "k1", "E001", [me])
    # the series linked to that unit (its residents read it)
    link = {"community_code": "sdk_ud", "cluster_code": "k1", "unit_code": "E001"}
    linked = await call("series", "patch_series", series.id, body=m.PatchSeriesRequest.from_dict({"units": [link]}))
    assert isinstance(linked, m.SeriesResponse)
    assert [(u.unit_code, u.retired) for u in linked.units] == [("E001", False)]
    report = unit_data_document("sdk_ud", "k1", "E001", 0)
    stored = await call(
        "ingestion", "ingest_unit_data", body=m.IngestUnitDataRequest.from_dict({"unit_data": [report]})
    )
    assert isinstance(stored, m.IngestUnitDataResponse) and (stored.written, stored.unchanged) == (1, 0)
    ids = await call("unit_data", "unit_id_list", community_id="sdk_ud", cluster_id="k1")
    assert ids == ["E001"]
    latest = await call("unit_data", "latest_set", community_id="sdk_ud", cluster_id="k1")
    doc = latest.additional_properties["E001"]
    assert isinstance(doc, m.UnitDataOut) and doc.dataset_id == 0 and doc.time == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert doc.oesunit.additional_properties["mac"] == "8c:85:90:b2:14:ef"
    mine = await call("unit_data", "resident_latest_set", community_id="sdk_ud", cluster_id="k1", unit_id="E001")
    own = mine.additional_properties["E001"]
    assert own.oesunit.id == "E001" and not {"ip", "mac", "ipv6_ll", "ipv6_g"} & set(own.oesunit.additional_properties)

    # ---- a CSV import into the series (the file as the SDK sends a binary body) and its progress resource
    api["imports"] = sdk_import("api.imports")
    types = sdk_import("types")
    csv_text = "time,value\n" + "".join(f"{iso(t0 + timedelta(hours=k))},{20 + k}\n" for k in range(3)) + "bad,row\n"
    done = await call("imports", "import_readings", series.id, body=types.File(payload=csv_text.encode()))  # type: ignore[arg-type]
    assert isinstance(done, m.ImportResponse) and done.status == m.ImportStatus.COMPLETED
    assert (done.rows_read, done.rows_written, done.rows_rejected) == (4, 3, 1)
    assert [(x.line, x.field) for x in done.rejections] == [(5, "time")]
    again = await call("imports", "get_import", series.id, done.id)
    assert isinstance(again, m.ImportResponse) and again.rows_written == 3
    listed = await call("imports", "list_imports", series.id)
    assert isinstance(listed, m.ImportListResponse) and [x.id for x in listed.imports] == [done.id]

    # Metering: seed 001's meter registry: the admin's meter model, measurement, register, location and host,
    # the user's view of them and an assigned measurement (whose series the readings go to).
    registry = {name: sdk_import(f"api.{name}") for name in ("meter_registry", "meter_registry_admin")}

    def registry_op(group: str, prefix: str) -> Callable[..., Awaitable[Any]]:
        folder = Path(registry[group].__file__ or "").parent
        names = [p.stem for p in folder.glob(f"{prefix}_*.py")]
        assert len(names) == 1, (group, prefix, names)
        return importlib.import_module(f"{registry[group].__name__}.{names[0]}").asyncio  # type: ignore[no-any-return]

    admin_token = await edge.user({company: "admin"})
    admin = client_mod.AuthenticatedClient(
        base_url=edge.url, token=admin_token, headers={"CompanyID": str(company)}, raise_on_unexpected_status=True
    )
    await replicate_membership(company, me, "operator", schema="metering")
    adm = "meter_registry_admin"
    meter = await registry_op(adm, "admin_create_meter")(
        client=admin, body=m.MeterRequest.from_dict({"name": "sdm120", "type": 2})
    )
    assert isinstance(meter, m.MeterResponse) and meter.type_ == m.MeterType.VALUE_2
    measurement = await registry_op(adm, "admin_create_measurement")(
        client=admin, body=m.MeasurementRequest.from_dict({"measurement": "active_power", "type": 1})
    )
    assert isinstance(measurement, m.MeasurementResponse) and measurement.measurement == "active_power"
    register = await registry_op(adm, "admin_create_register")(
        client=admin,
        body=m.ModbusRegisterRequest.from_dict(
            {
                "address": 12,
                "measurement": "active_power",
                "unit": "W",
                "type": 3,
                "function_code": 4,
                "meter": meter.id,
            }
        ),
    )
    assert isinstance(register, m.ModbusRegisterResponse) and register.word_order == m.RegisterWordOrder.MSW_FIRST
    location = await registry_op(adm, "admin_create_location")(
        client=admin,
        body=m.LocationRequest.from_dict(
            {"user": me, "street": "SunnyStreet", "number": "62", "city": "SilliconCity", "zip_code": "11-420"}
        ),
    )
    assert isinstance(location, m.LocationResponse) and location.user == me
    host = await registry_op(adm, "admin_create_host")(
        client=admin,
        body=m.HostRequest.from_dict(
            {
                "ip": "127.0.0.1",
                "port": 2137,
                "slave_address": 1,
                "user": me,
                "location": location.id,
                "meter": meter.id,
            }
        ),
    )
    assert isinstance(host, m.HostResponse) and host.status == m.HostStatus.PENDING
    usr = "meter_registry"
    mine_hosts = await registry_op(usr, "list_user_hosts")(client=client)
    assert [h.id for h in mine_hosts] == [host.id]
    models = await registry_op(usr, "list_meter_measurements")(meter.id, client=client)
    assert [(x.measurement, x.type_) for x in models] == [("active_power", m.MeasurementType.VALUE_1)]
    assigned = await registry_op(usr, "assign_host_measurements")(
        host.id, client=client, body=m.AssignMeasurementsRequest.from_dict({"measurements": ["active_power"]})
    )
    assert [a.measurement for a in assigned] == ["active_power"]
    assigned_series = await call("series", "get_series", assigned[0].series_id)
    assert assigned_series.external_key == f"host:{host.id}/measurement:active_power"
    left = await registry_op(usr, "unassign_host_measurements")(host.id, client=client, measurement=["active_power"])
    assert left == []
