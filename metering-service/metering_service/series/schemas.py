"""Wire shapes of series: what a series is and how it is created, changed and listed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, model_validator

from gridcommons.describe import explained_enum
from gridcommons.validation import JsonObject, Text
from gridcommons.wire import WireModel

# No region source exists yet in this service: a series' calendar defaults to this zone.
DEFAULT_TIMEZONE = "Europe/Paris"
MAX_SERIES_ID = 2**53 - 1  # ids stay exact in JSON clients that read numbers as doubles


@explained_enum(
    {
        "instantaneous": "A value at an instant (power, voltage, current, frequency)",
        "cumulative": "A counter that only grows between resets (an energy register): its unit is an energy unit",
    }
)
class SeriesKind(StrEnum):
    """What a reading of the series is."""

    INSTANTANEOUS = "instantaneous"
    CUMULATIVE = "cumulative"


@explained_enum(
    {
        "W": "watt (active power)",
        "kW": "kilowatt (active power)",
        "MW": "megawatt (active power)",
        "Wh": "watt-hour (active energy)",
        "kWh": "kilowatt-hour (active energy)",
        "MWh": "megawatt-hour (active energy)",
        "var": "volt-ampere reactive (reactive power)",
        "kvar": "kilovolt-ampere reactive (reactive power)",
        "varh": "volt-ampere reactive hour (reactive energy)",
        "kvarh": "kilovolt-ampere reactive hour (reactive energy)",
        "VA": "volt-ampere (apparent power)",
        "kVA": "kilovolt-ampere (apparent power)",
        "V": "volt (voltage)",
        "A": "ampere (current)",
        "Hz": "hertz (frequency)",
    }
)
class Unit(StrEnum):
    """Unit of every value of the series; a reading that names a unit must name this one."""

    W = "W"
    KW = "kW"
    MW = "MW"
    WH = "Wh"
    KWH = "kWh"
    MWH = "MWh"
    VAR = "var"
    KVAR = "kvar"
    VARH = "varh"
    KVARH = "kvarh"
    VA = "VA"
    KVA = "kVA"
    V = "V"
    A = "A"
    HZ = "Hz"


ENERGY_UNITS = frozenset({Unit.WH, Unit.KWH, Unit.MWH, Unit.VARH, Unit.KVARH})


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _check_timezone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone name, e.g. Europe/Paris")
    return value


TimeZoneName = Annotated[Text, AfterValidator(_check_timezone)]
ExternalKey = Annotated[Text, Field(min_length=1, max_length=255, pattern=r"^\S(.*\S)?$")]

EXTERNAL_KEY_TEXT = (
    "Natural key of the series in the systems that send its readings, unique among the company's live "
    "series (e.g. a meter and measurement `sdm630-12/active_energy_import`, a usage point and direction "
    "`PRM 30001234567890/consumption`, a device channel). Readings may address the series by it."
)
TIMEZONE_TEXT = (
    "IANA time zone of the series' calendar (days and months of its aggregates). Default: Europe/Paris "
    "(the company's region will provide it once known to this service)."
)
METADATA_TEXT = "Free-form JSON object kept with the series (at most 8 levels, 64 keys per object, 16 KiB)."


MAX_UNITS = 100  # units one series is linked to (a shared meter: a building's units)
UNITS_TEXT = (
    "Units of the community registry the series is linked to (seed 004 codes: community, cluster, unit), "
    "e.g. the unit a meter measures; the members linked to one of these units (its residents) may read "
    "the series, its readings and rollups. Unknown codes (or another company's) are refused."
)
RegistryCode = Annotated[Text, Field(min_length=1, max_length=64)]


class UnitLink(WireModel):
    """A unit of the community registry, by the codes seed 004's APIs use (`communityId`, `clusterId`, `unitId`)."""

    community_code: RegistryCode = Field(description="Code of the unit's community.", examples=["oss_community"])
    cluster_code: RegistryCode = Field(description="Code of the unit's cluster.", examples=["oss_cluster"])
    unit_code: RegistryCode = Field(description="Code of the unit within the cluster.", examples=["E001"])


class LinkedUnit(UnitLink):
    """A unit the series is linked to."""

    unit_id: int = Field(description="The unit's id in the community registry (as in metering.unit-data.v1).")
    retired: bool = Field(description="true: the unit is retired in the registry (its residents still read).")


def _energy_for_counters(kind: SeriesKind | None, unit: Unit | None) -> None:
    if kind == SeriesKind.CUMULATIVE and unit is not None and unit not in ENERGY_UNITS:
        raise ValueError("a cumulative series counts energy: its unit must be one of Wh, kWh, MWh, varh, kvarh")


class CreateSeriesRequest(WireModel):
    """A new series of readings."""

    external_key: ExternalKey = Field(description=EXTERNAL_KEY_TEXT, examples=["sdm630-12/active_energy_import"])
    kind: SeriesKind = Field(description="What a reading of the series is.", examples=["cumulative"])
    unit: Unit = Field(description="Unit of every value of the series.", examples=["kWh"])
    name: Text | None = Field(
        default=None, max_length=255, description="Human-readable name (optional).", examples=["Main meter import"]
    )
    timezone: TimeZoneName = Field(default=DEFAULT_TIMEZONE, description=TIMEZONE_TEXT, examples=["Europe/Paris"])
    metadata: JsonObject = Field(default_factory=dict, description=METADATA_TEXT, examples=[{"site": "Lyon-3"}])
    units: list[UnitLink] = Field(
        default_factory=list, max_length=MAX_UNITS, description=UNITS_TEXT + " Default: none."
    )

    @model_validator(mode="after")
    def _unit_fits_kind(self) -> CreateSeriesRequest:
        _energy_for_counters(self.kind, self.unit)
        return self


class PatchSeriesRequest(WireModel):
    """Changes to a series; an omitted field is kept. Kind and unit never change (they give the stored
    values their meaning): create a new series instead."""

    external_key: ExternalKey | None = Field(
        default=None, description=EXTERNAL_KEY_TEXT + " Omitted: kept.", examples=["sdm630-12/active_energy_import"]
    )
    name: Text | None = Field(
        default=None,
        max_length=255,
        description="Human-readable name; omitted: kept; null: removed.",
        examples=["Main meter"],
    )
    timezone: TimeZoneName | None = Field(
        default=None, description="IANA time zone of the series' calendar; omitted: kept.", examples=["Europe/Paris"]
    )
    metadata: JsonObject | None = Field(
        default=None, description="Replaces the metadata object; omitted: kept.", examples=[{"site": "Lyon-3"}]
    )
    units: list[UnitLink] | None = Field(
        default=None,
        max_length=MAX_UNITS,
        description=UNITS_TEXT + " Replaces the links; omitted or null: kept; []: unlinked from every unit.",
    )


class SeriesResponse(WireModel):
    id: int = Field(description="Series id (platform-wide).", examples=[12])
    external_key: str = Field(description=EXTERNAL_KEY_TEXT, examples=["sdm630-12/active_energy_import"])
    kind: SeriesKind = Field(description="What a reading of the series is.")
    unit: Unit = Field(description="Unit of every value of the series.")
    name: str | None = Field(description="Human-readable name (null: none).")
    timezone: str = Field(description="IANA time zone of the series' calendar.", examples=["Europe/Paris"])
    metadata: dict[str, object] = Field(description=METADATA_TEXT)
    units: list[LinkedUnit] = Field(description=UNITS_TEXT + " In code order.")
    created_at: datetime = Field(description="When the series was created (ISO 8601, UTC).")
    updated_at: datetime = Field(description="When the series was last changed (ISO 8601, UTC).")
    retired_at: datetime | None = Field(
        description="When the series was retired (ISO 8601, UTC); null: live. A retired series keeps its "
        "readings and accepts no new ones."
    )


class SeriesListResponse(WireModel):
    limit: int = Field(description="Page size used for this answer: at most this many items (1..1000).")
    offset: int = Field(description="Number of items skipped before this page (0 = first page).")
    series: list[SeriesResponse] = Field(
        description="The company's series (a member: those linked to the units they are a resident of), ordered by id."
    )


class SeriesQuery(WireModel):
    external_key: str | None = None
    include_retired: bool = False
    unit: tuple[str, str, str] | None = None  # (community, cluster, unit) codes: the series linked to it
