"""Wire shapes of the energy balance."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, model_validator

from gridcommons.quantity import DecimalAmount
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

from ..series.schemas import MAX_SERIES_ID

MAX_SERIES = 200  # per side
MAX_DAYS = 400  # a year and some: intervals of one answer
SeriesId = Annotated[int, Field(ge=1, le=MAX_SERIES_ID)]


class EnergyBalanceRequest(WireModel):
    """Series that produce and series that consume, over a period."""

    production: list[SeriesId] = Field(
        default_factory=list,
        max_length=MAX_SERIES,
        description=f"Ids of the production series (0..{MAX_SERIES}, distinct): energy registers (Wh, kWh, MWh) or "
        "power (W, kW, MW) of generators.",
        examples=[[12]],
    )
    consumption: list[SeriesId] = Field(
        default_factory=list,
        max_length=MAX_SERIES,
        description=f"Ids of the consumption series (0..{MAX_SERIES}, distinct), the same units as production.",
        examples=[[13, 14]],
    )
    from_: UtcInstant = Field(
        alias="from",
        description="Start of the period (ISO 8601 with offset): the quarter hour holding it is the first interval.",
        examples=["2026-06-01T00:00:00+02:00"],
    )
    to: UtcInstant = Field(
        description=f"End of the period, exclusive (ISO 8601 with offset); at most {MAX_DAYS} days after from.",
        examples=["2026-06-02T00:00:00+02:00"],
    )
    tz: str | None = Field(
        default=None,
        max_length=64,
        description="IANA time zone of the daily sums (default: the series' time zone when they share one; "
        "required otherwise).",
        examples=["Europe/Paris"],
    )
    intervals: bool = Field(
        default=True, description="Include the quarter-hour intervals (false: the daily sums and the total only)."
    )

    @model_validator(mode="after")
    def _check(self) -> EnergyBalanceRequest:
        if not self.production and not self.consumption:
            raise ValueError("name at least one production or consumption series")
        for name in ("production", "consumption"):
            ids = getattr(self, name)
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name} names a series twice")
        if set(self.production) & set(self.consumption):
            raise ValueError("a series cannot be both production and consumption")
        if self.to <= self.from_:
            raise ValueError("to must be after from")
        if self.to - self.from_ > dt.timedelta(days=MAX_DAYS):
            raise ValueError(f"the period spans at most {MAX_DAYS} days")
        return self


class BalanceCoverage(WireModel):
    expected: int = Field(
        description="Series × quarter hours that should have data (production and consumption together).",
        examples=[288],
    )
    received: int = Field(description="Of those, how many have data (any covered time).", examples=[288])


class BalanceFigures(WireModel):
    production: DecimalAmount = Field(description="P: energy produced (kWh, decimal string).", examples=["3.25"])
    consumption: DecimalAmount = Field(description="C: energy consumed (kWh, decimal string).", examples=["2.5"])
    self_consumed: DecimalAmount = Field(description="S = min(P, C) per quarter hour (kWh), summed.", examples=["2.5"])
    exported: DecimalAmount = Field(description="P − S: sent to the grid (kWh).", examples=["0.75"])
    from_grid: DecimalAmount = Field(description="C − S: taken from the grid (kWh).", examples=["0"])
    coverage: BalanceCoverage = Field(description="Expected against received series × quarter hours.")


class BalanceInterval(BalanceFigures):
    start: dt.datetime = Field(description="Start of the quarter hour (UTC).", examples=["2026-06-01T10:00:00Z"])


class BalanceDay(BalanceFigures):
    day: dt.date = Field(description="Local calendar day in the answer's time zone.", examples=["2026-06-01"])
    start: str = Field(
        json_schema_extra={"format": "date-time"},
        description="Local start of the day (ISO 8601 with its offset).",
        examples=["2026-06-01T00:00:00+02:00"],
    )
    end: str = Field(
        json_schema_extra={"format": "date-time"},
        description="Local end of the day (23, 24 or 25 hours after its start).",
        examples=["2026-06-02T00:00:00+02:00"],
    )


class EnergyBalanceResponse(WireModel):
    timezone: str = Field(description="IANA time zone of the daily sums.", examples=["Europe/Paris"])
    unit: str = Field(
        description="Unit of every energy figure: kWh. Figures are decimal strings, exact sums of the series' "
        "rollups, each rounded once half-even to 9 decimals (exact as they are when every series is an energy "
        "register).",
        examples=["kWh"],
    )
    total: BalanceFigures = Field(description="Sums over the whole period.")
    days: list[BalanceDay] = Field(
        description="Sums per local day (the first and last only over the period's quarter hours)."
    )
    intervals: list[BalanceInterval] = Field(
        description="Every quarter hour of the period, in order (empty when intervals=false)."
    )
