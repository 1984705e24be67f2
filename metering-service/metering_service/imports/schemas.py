from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from gridcommons.describe import explained_enum
from gridcommons.wire import WireModel

CHUNK_ROWS = 10_000  # rows checked and written per transaction (the progress advances by this much)
MAX_REJECTIONS = 1_000  # rejected rows listed with their reason (all are counted)
COLUMNS = frozenset({"time", "value", "quality", "unit"})


@explained_enum(
    {
        "running": "rows are still arriving; the counters show what is committed",
        "completed": "the file was read to its end",
        "failed": "the upload stopped before its end (see error); the rows written so far stay",
    }
)
class ImportStatus(StrEnum):
    """Where an import stands."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportRejection(WireModel):
    """A row of the file that was not imported."""

    line: int = Field(description="Line of the file (the header is line 1).")
    field: str | None = Field(description="The offending column, or null for the whole row.")
    reason: str = Field(description="Why the row was refused.")
    value: Any = Field(default=None, description="The offending cell, when there is one.")


class ImportResponse(WireModel):
    """A CSV import into a series and its progress (counters committed with each chunk of rows)."""

    id: int = Field(description="Id of the import.")
    series_id: int = Field(description="The series the readings go to.")
    status: ImportStatus = Field(description="Where the import stands.")
    rows_read: int = Field(description="Data rows read so far (the header not counted).")
    rows_written: int = Field(description="Readings written (new or replaced by the quality rule).")
    rows_unchanged: int = Field(description="Valid rows that changed nothing (the same reading stored already).")
    rows_rejected: int = Field(description="Rows refused (bad cells, another value for a time of the same chunk).")
    rejections: list[ImportRejection] = Field(
        description=f"The first {MAX_REJECTIONS:,} rejected rows with their reason, in file order."
    )
    error: str | None = Field(description="Why a failed import stopped; null otherwise.")
    created_at: datetime = Field(description="When the upload started.")
    updated_at: datetime = Field(description="When the counters last changed.")
    finished_at: datetime | None = Field(description="When the import completed or failed; null while running.")


class ImportListResponse(WireModel):
    """The imports of a series, newest first."""

    imports: list[ImportResponse] = Field(description="The imports, newest first.")
