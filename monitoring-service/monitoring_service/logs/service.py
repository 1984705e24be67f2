"""Rules of logs: a batch is checked whole (codes known to the registry, dates inside the retention
and not in the future) and written all or nothing; the operators' search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import RegistryLookup
from gridcommons.errors import ValidationFailed, field_error
from gridcommons.pagination import Page
from gridcommons.timeutil import utcnow

from ..settings import MonitoringSettings
from . import repository
from .models import partitions
from .repository import LogQuery
from .schemas import IngestLogsResponse, LogPage, LogRecord


@dataclass(frozen=True)
class Item:
    """One record to store: its company, the record, and where it came from (for error locations)."""

    company_id: int
    record: LogRecord
    loc: tuple[str | int, ...]


def _row(company_id: int, r: LogRecord) -> tuple[Any, ...]:
    return (
        company_id,
        r.community_id,
        r.cluster_id,
        r.program_id,
        r.unit_id,
        r.datetime,
        r.loglevel.value,
        r.loggername,
        r.message,
        r.thread,
        r.address,
        r.unitname,
    )


async def check(
    session: AsyncSession,
    lookup: RegistryLookup,
    items: Sequence[Item],
    settings: MonitoringSettings,
    now: datetime | None = None,
) -> None:
    """Every record's communityId/clusterId must name a cluster of its company (retired ones too: late
    logs stay history), and its datetime must lie within the retention and not in the future past the
    tolerance; else a 422 naming each offending record."""
    now = now or utcnow()
    oldest = now - timedelta(days=settings.log_retention_days)
    newest = now + timedelta(seconds=settings.log_future_tolerance_seconds)
    known: dict[tuple[int, str, str], bool] = {}
    bad = []
    for item in items:
        r = item.record
        key = (item.company_id, r.community_id, r.cluster_id)
        if key not in known:
            known[key] = await lookup.cluster(session, *key) is not None
        if not known[key]:
            bad.append(
                field_error(
                    [*item.loc, "clusterId"],
                    f"unknown communityId/clusterId {r.community_id}/{r.cluster_id}",
                    f"{r.community_id}/{r.cluster_id}",
                )
            )
        if r.datetime < oldest:
            bad.append(
                field_error(
                    [*item.loc, "datetime"],
                    f"older than the log retention ({settings.log_retention_days} days)",
                    r.datetime.isoformat(),
                )
            )
        elif r.datetime > newest:
            bad.append(field_error([*item.loc, "datetime"], "in the future (check the clock)", r.datetime.isoformat()))
    if bad:
        raise ValidationFailed(bad)


async def record(
    session: AsyncSession,
    lookup: RegistryLookup,
    items: Sequence[Item],
    settings: MonitoringSettings,
    now: datetime | None = None,
) -> int:
    """All or nothing: checks first, then the days' partitions (a backfill may need one), then one COPY."""
    await check(session, lookup, items, settings, now)
    await partitions.ensure(await session.connection(), {item.record.datetime for item in items})
    await repository.copy_rows(session, [_row(item.company_id, item.record) for item in items])
    return len(items)


async def ingest(
    session: AsyncSession,
    lookup: RegistryLookup,
    company_id: int,
    records: Sequence[LogRecord],
    settings: MonitoringSettings,
) -> IngestLogsResponse:
    """The HTTP door's batch (errors located at ``body.logs[i]``)."""
    items = [Item(company_id, r, ("body", "logs", i)) for i, r in enumerate(records)]
    return IngestLogsResponse(received=await record(session, lookup, items, settings))


async def search(session: AsyncSession, query: LogQuery, page: Page) -> LogPage:
    rows = await repository.search(session, query, limit=page.limit + 1, offset=page.offset)
    items = [
        LogRecord.model_validate(
            {
                "communityId": query.community_code,
                "clusterId": query.cluster_code,
                "programId": row["program_id"],
                "unitId": row["unit_id"],
                **{
                    k: row[k]
                    for k in ("datetime", "loglevel", "loggername", "message", "thread", "address", "unitname")
                },
            }
        )
        for row in rows[: page.limit]
    ]
    return LogPage(items=items, limit=page.limit, offset=page.offset, has_more=len(rows) > page.limit)
