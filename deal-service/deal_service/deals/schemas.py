"""Wire shapes of deals (seed 004 ``deal``): the report a unit's controller sends while a deal
progresses (also the staff answer), the resident and budo formats, and the query parameters'
formats (``timezone``, ``datetimeFrom``/``datetimeTo``) with their 400 answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from gridcommons.datetime_window import bad_request
from gridcommons.describe import explained_enum
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

MAX_BATCH = 1000
CODE = {"min_length": 1, "max_length": 64}
MASK = "******"  # another unit's id, as a resident sees it
# epoch seconds in [1970-01-01, 9999-01-01): what a controller's clock can say
REPORT_TIME_MAX = 253402300800


@explained_enum(
    {
        "charge": "The requesting unit charges (receives energy from the accepting unit)",
        "discharge": "The requesting unit discharges (sends energy to the accepting unit)",
    }
)
class DealType(StrEnum):
    """Direction of the deal, seen from the requesting unit."""

    charge = "charge"
    discharge = "discharge"


@explained_enum({"budo": "The short form used by the visual pages (id, units, master flag, start time)"})
class FormatType(StrEnum):
    """Another output format of the deal lists."""

    budo = "budo"


def _instant(what: str, example: str) -> Any:
    return Field(
        default=None,
        description=f"{what} (ISO 8601 instant with offset, answered in UTC; absent until it happened).",
        examples=[example],
    )


def _number(what: str, example: float, *, ge: float | None = None) -> Any:
    return Field(default=None, description=what, examples=[example], ge=ge)


# Wire names are the reports' camelCase (``dealId``); Python names are snake_case.
_CAMEL = ConfigDict(alias_generator=to_camel, serialize_by_alias=True)


class Deal(WireModel):
    """One deal as its controller reports it, again and again while it progresses (create → activate
    → warm-up → start → cumulate … → stop → deactivate; abort or scram possible). The staff lists
    answer the newest report of each deal in this shape; absent fields are left out."""

    model_config = _CAMEL

    unit_id: Annotated[str, Field(**CODE)] | None = Field(
        default=None, description="Code of the unit whose controller reported the deal.", examples=["E003"]
    )
    negotiation_id: Annotated[str, Field(max_length=128)] | None = Field(
        default=None,
        description="Id of the negotiation that led to the deal.",
        examples=["d2db0d7a-5836-4a13-90bf-416ab4654a2c"],
    )
    request_unit_id: Annotated[str, Field(**CODE)] | None = Field(
        default=None, description="Code of the unit that requested the deal.", examples=["E003"]
    )
    accept_unit_id: Annotated[str, Field(**CODE)] | None = Field(
        default=None, description="Code of the unit that accepted the request.", examples=["E001"]
    )
    request_date_time: UtcInstant | None = _instant("When the request was made", "2027-01-15T06:05:40Z")
    accept_date_time: UtcInstant | None = _instant("When the request was accepted", "2027-01-15T06:05:40Z")
    request_point_per_wh: float | None = _number("Price the requester offered, in points per Wh.", 10.0)
    accept_point_per_wh: float | None = _number("Price the accepter asked, in points per Wh.", 10.0)
    request_deal_grid_current_a: float | None = _number("Grid current the requester asked for, in A.", 1.0)
    accept_deal_grid_current_a: float | None = _number("Grid current the accepter offered, in A.", 1.0)
    type: DealType | None = Field(default=None, description="Direction of the deal.", examples=["charge"])
    charge_unit_id: Annotated[str, Field(**CODE)] | None = Field(
        default=None, description="Code of the unit that receives the energy.", examples=["E003"]
    )
    discharge_unit_id: Annotated[str, Field(**CODE)] | None = Field(
        default=None, description="Code of the unit that sends the energy.", examples=["E001"]
    )
    point_per_wh: float | None = _number("Agreed price, in points per Wh.", 10.0)
    charge_unit_efficient_grid_voltage_v: float | None = _number(
        "Grid voltage at which the charging unit works efficiently, in V.", 312.0
    )
    discharge_unit_efficient_grid_voltage_v: float | None = _number(
        "Grid voltage at which the discharging unit works efficiently, in V.", 312.0
    )
    deal_grid_current_a: float | None = _number("Agreed grid current, in A.", 1.0)
    request_amount_wh: int | None = _number("Energy the requester asked for, in Wh.", 1358, ge=0)
    accept_amount_wh: int | None = _number("Energy the accepter offered, in Wh.", 536, ge=0)
    deal_amount_wh: int | None = _number("Agreed energy of the deal, in Wh.", 50, ge=0)
    deal_id: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="Id of the deal, unique within the company: reports of one deal share it.",
        examples=["f6f9743d-d6f0-4611-a5c9-b166c43acf95"],
    )
    create_date_time: UtcInstant = Field(
        description="When the deal was created (ISO 8601 instant with offset, answered in UTC); lists filter and sort on it.",
        examples=["2027-01-15T06:05:40Z"],
    )
    compensation_target_voltage_reference_grid_current_a: float | None = _number(
        "Grid current of the voltage-reference unit that the compensation aims at, in A.", -2.0
    )
    activate_date_time: UtcInstant | None = _instant("When the deal was activated", "2027-01-15T06:09:10Z")
    ramp_up_date_time: UtcInstant | None = _instant("When the grid voltage ramped up", "2027-01-15T06:09:10Z")
    warm_up_date_time: UtcInstant | None = _instant("When the converters warmed up", "2027-01-15T06:09:10Z")
    discharge_unit_compensated_grid_current_a: float | None = _number(
        "Grid current of the discharging unit after compensation, in A.", -1.0
    )
    charge_unit_compensated_grid_current_a: float | None = _number(
        "Grid current of the charging unit after compensation, in A.", 1.0
    )
    start_date_time: UtcInstant | None = _instant("When the energy started to flow", "2027-01-15T06:09:10Z")
    cumulate_date_time: UtcInstant | None = _instant(
        "When the shared energy was last accumulated", "2027-01-15T06:10:50Z"
    )
    cumulate_amount_wh: float | None = _number(
        "Energy actually shared so far, in Wh (the hourly sums add it up).", 7.1944447, ge=0
    )
    stop_date_time: UtcInstant | None = _instant("When the energy stopped flowing", "2027-01-15T06:20:50Z")
    deactivate_date_time: UtcInstant | None = _instant(
        "When the deal ended (a deal without it is live while reported)", "2027-01-15T06:20:50Z"
    )
    abort_date_time: UtcInstant | None = _instant("When the deal was aborted", "2027-01-15T06:20:50Z")
    scram_date_time: UtcInstant | None = _instant(
        "When the deal was stopped by an emergency stop", "2027-01-15T06:20:50Z"
    )
    is_master: bool | None = Field(
        default=None, description="Whether this deal is the one holding the grid master role.", examples=[False]
    )
    community_id: Annotated[str, Field(**CODE)] = Field(
        description="Code of the community (known to the registry).", examples=["oss_community"]
    )
    cluster_id: Annotated[str, Field(**CODE)] = Field(
        description="Code of the cluster within the community (known to the registry).", examples=["oss_cluster"]
    )
    report_time: int = Field(
        ge=0,
        lt=REPORT_TIME_MAX,
        description="When the controller sent this report, in epoch seconds: an older report never overwrites a newer one.",
        examples=[1800000000],
    )


# What a deal's progress counts: the lifecycle instants set (reports of the same second are ordered by it).
LIFECYCLE = (
    "activate_date_time",
    "ramp_up_date_time",
    "warm_up_date_time",
    "start_date_time",
    "stop_date_time",
    "abort_date_time",
    "scram_date_time",
    "deactivate_date_time",
)
# The staff answer's keys, in the reports' order.
DEAL_KEYS = tuple(f.alias or name for name, f in Deal.model_fields.items())


class IngestDealsRequest(WireModel):
    """Body of ``POST /api/ingest/deals`` and payload of ``ingest.deals.v1``."""

    deals: list[Deal] = Field(
        description="Deal reports (1..1000); several reports of one deal may come in one batch (the newest wins).",
        min_length=1,
        max_length=MAX_BATCH,
    )


class IngestDealsResponse(WireModel):
    received: int = Field(description="Reports in the batch.")
    changed: int = Field(
        description="Deals created or moved forward by the batch (each published one event); older or repeated reports change nothing."
    )


class ResidentDeal(WireModel):
    """A deal as a resident sees it: the whitelisted fields, other units' codes masked as `******`."""

    model_config = _CAMEL

    create_date_time: datetime = Field(description="When the deal was created (ISO 8601 instant, UTC).")
    deal_id: str = Field(description="Id of the deal.")
    discharge_unit_id: str | None = Field(default=None, description="The sending unit's code, `******` if not yours.")
    charge_unit_id: str | None = Field(default=None, description="The receiving unit's code, `******` if not yours.")
    type: DealType | None = Field(default=None, description="Direction of the deal, seen from the requesting unit.")
    request_unit_id: str | None = Field(default=None, description="The requesting unit's code, `******` if not yours.")
    request_amount_wh: int | None = Field(default=None, description="Energy the requester asked for, in Wh.")
    accept_unit_id: str | None = Field(default=None, description="The accepting unit's code, `******` if not yours.")
    deal_amount_wh: int | None = Field(default=None, description="Agreed energy of the deal, in Wh.")
    is_master: bool | None = Field(default=None, description="Whether the deal holds the grid master role.")
    start_date_time: datetime | None = Field(default=None, description="When the energy started to flow (UTC).")
    cumulate_amount_wh: float | None = Field(default=None, description="Energy actually shared so far, in Wh.")
    stop_date_time: datetime | None = Field(default=None, description="When the energy stopped flowing (UTC).")
    abort_date_time: datetime | None = Field(default=None, description="When the deal was aborted (UTC).")
    scram_date_time: datetime | None = Field(default=None, description="When the deal was emergency-stopped (UTC).")
    deactivate_date_time: datetime | None = Field(default=None, description="When the deal ended (UTC).")


RESIDENT_KEYS = tuple(f.alias or name for name, f in ResidentDeal.model_fields.items())


class BudoDeal(WireModel):
    """The short form of a deal (``formatType=budo``): every key present, null when not reported."""

    id: str = Field(description="Id of the deal.")
    dischargingUnit: str | None = Field(description="Code of the sending unit (masked for residents).")
    chargingUnit: str | None = Field(description="Code of the receiving unit (masked for residents).")
    isMasterDeal: bool = Field(description="Whether the deal holds the grid master role (false when not reported).")
    request: DealType | None = Field(description="Direction of the deal, seen from the requesting unit.")
    requester: str | None = Field(description="Code of the requesting unit (masked for residents).")
    responder: str | None = Field(description="Code of the accepting unit (masked for residents).")
    startTime: datetime = Field(description="When the deal was created (ISO 8601 instant, UTC).")


class DatetimeRange(WireModel):
    """First and last creation instants of the deals; `{}` when there are none."""

    min: datetime | None = Field(default=None, description="Earliest createDateTime (UTC); absent without deals.")
    max: datetime | None = Field(default=None, description="Latest createDateTime (UTC); absent without deals.")


# ----------------------------------------------------------------------------- query parameter formats
@cache
def iana_zones() -> frozenset[str]:
    """The IANA zone names (the tz database's, without ``posix/``, ``right/`` or ``localtime``, which
    PostgreSQL need not know)."""
    return frozenset(available_timezones()) - {"localtime"}  # the host's zone file, not a tz database name


_OFFSET = re.compile(r"^([+-])([0-9]{2}):?([0-9]{2})$")


@dataclass(frozen=True)
class Zone:
    """A ``timezone`` parameter: a fixed offset (``minutes``) or an IANA zone (``name``, DST-aware)."""

    minutes: int | None = None
    name: str | None = None

    def tz(self) -> tzinfo:
        if self.name is not None:
            return ZoneInfo(self.name)
        return timezone(timedelta(minutes=self.minutes or 0))


def parse_timezone(value: str | None) -> Zone:
    """``Z``, ``±HH:MM``, ``±HHMM`` or an IANA name (``Europe/Berlin``); a ``+`` sent unencoded
    arrives as a space and is read as ``+``. Anything else is a 400."""
    if value is None or not value.strip():
        raise bad_request("no param : timezone")
    text = value.strip()
    if value.startswith(" ") and _OFFSET.match("+" + text):
        text = "+" + text
    if text in ("Z", "z", "UTC"):
        return Zone(minutes=0)
    m = _OFFSET.match(text)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3))
        if hours > 14 or minutes > 59 or (hours == 14 and minutes):
            raise bad_request(f"bad param value : timezone {text!r} (offsets lie within ±14:00)")
        sign = -1 if m.group(1) == "-" else 1
        return Zone(minutes=sign * (hours * 60 + minutes))
    if text in iana_zones():
        return Zone(name=text)
    raise bad_request(
        f"bad param value : timezone {value[:64]!r} (expected Z, ±HH:MM, ±HHMM or an IANA name such as Europe/Berlin)"
    )


def parse_format(value: str | None) -> FormatType | None:
    """``formatType``: empty or absent = the full form; ``budo`` (any case); anything else is a 400."""
    if value is None or value == "":
        return None
    if value.lower() == FormatType.budo:
        return FormatType.budo
    raise bad_request(f"bad param value : formatType {value[:20]!r} (only budo)")
