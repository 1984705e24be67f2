"""Query parameters shared by the monitoring endpoints: the seed's ``datetimeFrom``/``datetimeTo``, parsed
by the kernel (``gridcommons.datetime_window``: a bad value is a 400 naming it, as the seed's other errors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from gridcommons.datetime_window import Window, bad_request, parse_instant, parse_window

__all__ = ["FromQuery", "ToQuery", "Window", "bad_request", "parse_instant", "parse_window"]


FromQuery = Annotated[
    str | None,
    Query(
        alias="datetimeFrom",
        description="Lower bound of the window: ISO 8601 date-time with offset, e.g. 2020-01-01T00:00:00Z.",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="datetimeTo",
        description="Upper bound of the window (exclusive): ISO 8601 date-time with offset; after datetimeFrom.",
    ),
]
