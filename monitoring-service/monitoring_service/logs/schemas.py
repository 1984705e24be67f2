"""Wire shapes of program logs (seed 004 ``apisLog``): the record apis-log writes for each log line of
apis-main, apis-ccc and apis-log, the ingestion batch, and the operators' search answer."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from gridcommons.describe import explained_enum
from gridcommons.validation import UtcInstant
from gridcommons.wire import WireModel

MAX_BATCH = 1000
CODE = {"min_length": 1, "max_length": 64}
MESSAGE_MAX = 8192


@explained_enum(
    {
        "SEVERE": "A serious failure (the severe jobs open a failure on it)",
        "WARNING": "A potential problem (the blocked-thread warnings of Vert.x among them)",
        "INFO": "Informational (the alive jobs look for the programs' regular lines)",
        "CONFIG": "Configuration message",
        "FINE": "Tracing",
        "FINER": "Detailed tracing",
        "FINEST": "Most detailed tracing",
    }
)
class LogLevel(StrEnum):
    """Level of a log line (java.util.logging names)."""

    SEVERE = "SEVERE"
    WARNING = "WARNING"
    INFO = "INFO"
    CONFIG = "CONFIG"
    FINE = "FINE"
    FINER = "FINER"
    FINEST = "FINEST"


class LogRecord(WireModel):
    """One log line of a program of a cluster, as apis-log records it (also the search answer's item)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    community_id: Annotated[str, Field(**CODE)] = Field(
        alias="communityId", description="Code of the community (known to the registry).", examples=["oss_community"]
    )
    cluster_id: Annotated[str, Field(**CODE)] = Field(
        alias="clusterId", description="Code of the cluster within the community.", examples=["oss_cluster"]
    )
    program_id: Annotated[str, Field(**CODE)] = Field(
        alias="programId",
        description="The program that logged: apis-main, apis-ccc, apis-log, ...",
        examples=["apis-main"],
    )
    unit_id: Annotated[str, Field(**CODE)] | None = Field(
        default=None, alias="unitId", description="Code of the unit (apis-main lines only).", examples=["E001"]
    )
    datetime: UtcInstant = Field(
        description="When the line was logged (ISO 8601 instant with offset, answered in UTC).",
        examples=["2026-12-01T10:00:00.123Z"],
    )
    loglevel: LogLevel = Field(description="Level of the line.", examples=["INFO"])
    loggername: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Logger (class) that wrote the line.", examples=["jp.co.sony.csl.dcoes.apis.main.A"]
    )
    message: Annotated[str, Field(max_length=MESSAGE_MAX)] | None = Field(
        default=None, description="The line's text.", examples=["uri : http://0.0.0.0:4390/get"]
    )
    thread: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Thread that logged.", examples=["vert.x-eventloop-thread-0"]
    )
    address: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Network address of the program's host.", examples=["192.168.0.11"]
    )
    unitname: Annotated[str, Field(max_length=255)] | None = Field(
        default=None, description="Display name of the unit.", examples=["E001"]
    )


class IngestLogsRequest(WireModel):
    """Body of ``POST /api/ingest/logs`` and payload of ``ingest.logs.v1``."""

    logs: list[LogRecord] = Field(description=f"Log records (1..{MAX_BATCH}).", min_length=1, max_length=MAX_BATCH)


class IngestLogsResponse(WireModel):
    received: int = Field(description="Log records in the batch, all stored.")


class LogPage(WireModel):
    """A page of log records, newest first."""

    items: list[LogRecord] = Field(description="The records of this page.")
    limit: int = Field(description="The page size asked for.")
    offset: int = Field(description="Records skipped before this page.")
    has_more: bool = Field(description="Whether more records follow this page (next: offset + limit).")
