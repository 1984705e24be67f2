"""Rules of the technical-specs domain: versioned upsert (BESS closing rule, vBat windows) and reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.errors import NotFound, ValidationFailed, field_error
from gridcommons.pagination import Page
from gridcommons.timeutil import iso_utc

from ..assets.lookup import missing_asset_ids
from . import events, repository
from .schemas import SpecListResponse, SpecResponse, UpsertSpecRequest

MAX_READ_SPAN = timedelta(days=31)
EXCLUSION_VIOLATION = "23P01"
DEADLOCK_DETECTED = "40P01"


def _iso(d: datetime | None) -> str:
    return "open end" if d is None else iso_utc(d)


def _sqlstate(exc: DBAPIError) -> str | None:
    orig: Any = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


async def _overlap_error(
    session: AsyncSession, company_id: int, body: UpsertSpecRequest, valid_to: datetime | None
) -> None:
    rows = await repository.overlapping(session, company_id, body.asset_id, body.valid_from, valid_to)
    windows = ", ".join(f"[{_iso(r['valid_from'])}, {_iso(r['valid_to'])})" for r in rows) or "a concurrent write"
    raise ValidationFailed(
        [
            field_error(
                ["body", "valid_to"],
                f"validity window [{_iso(body.valid_from)}, {_iso(valid_to)}) of asset {body.asset_id} "
                f"overlaps existing spec(s): {windows}",
                None if valid_to is None else _iso(valid_to),
            )
        ]
    )


async def _guarded(
    session: AsyncSession,
    company_id: int,
    body: UpsertSpecRequest,
    valid_to: datetime | None,
    write: Callable[[], Awaitable[Any]],
) -> Any:
    """Run one write inside a savepoint; the EXCLUDE constraint's refusal becomes a 422."""
    try:
        async with session.begin_nested():
            return await write()
    except DBAPIError as exc:
        # Two overlapping inserts can each wait for the other's exclusion check: PostgreSQL then
        # aborts one of them as a deadlock. For that request it is the same refusal as an overlap.
        if _sqlstate(exc) in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED):
            await _overlap_error(session, company_id, body, valid_to)
        raise


async def upsert_spec(session: AsyncSession, company_id: int, body: UpsertSpecRequest) -> SpecResponse:
    if await missing_asset_ids(session, company_id, [body.asset_id], lock=True):
        raise NotFound(f"Asset {body.asset_id} not found")
    values = body.column_values()

    existing = await repository.lock_spec(session, company_id, body.asset_id, body.valid_from)
    if existing is None:
        closed: dict[str, Any] | None = None
        if body.valid_to is None:
            # BESS: the open-ended version is closed by the new one, which must start strictly later.
            active = await repository.lock_active(session, company_id, body.asset_id)
            if active is not None:
                if body.valid_from <= active["valid_from"]:
                    raise ValidationFailed(
                        [
                            field_error(
                                ["body", "valid_from"],
                                f"valid_from must be strictly after the active spec's valid_from "
                                f"({_iso(active['valid_from'])}) of asset {body.asset_id}",
                                _iso(body.valid_from),
                            )
                        ]
                    )
                closed = await repository.update_spec(
                    session, company_id, body.asset_id, active["valid_from"], {"valid_to": body.valid_from}
                )
        row = await _guarded(
            session,
            company_id,
            body,
            body.valid_to,
            lambda: repository.insert_spec(
                session,
                {"company_id": company_id, "asset_id": body.asset_id, "valid_from": body.valid_from, **values},
            ),
        )
        if row is not None:
            if closed is not None:
                await events.spec_changed(session, company_id, SpecResponse.from_row(closed), created=False)
            spec = SpecResponse.from_row(row)
            await events.spec_changed(session, company_id, spec, created=True)
            return spec
        # A concurrent request inserted the same key first: this one becomes its partial update.
        existing = await repository.lock_spec(session, company_id, body.asset_id, body.valid_from)
        assert existing is not None

    valid_to = values["valid_to"] if "valid_to" in values else existing["valid_to"]
    if valid_to is not None and valid_to <= body.valid_from:
        raise ValidationFailed([field_error(["body", "valid_to"], "valid_to must be after valid_from", _iso(valid_to))])
    row = await _guarded(
        session,
        company_id,
        body,
        valid_to,
        lambda: repository.update_spec(session, company_id, body.asset_id, body.valid_from, values),
    )
    spec = SpecResponse.from_row(row)
    await events.spec_changed(session, company_id, spec, created=False)
    return spec


async def list_specs(
    session: AsyncSession,
    company_id: int,
    asset_ids: list[str],
    latest: bool,
    from_: datetime | None,
    to: datetime | None,
    page: Page,
) -> SpecListResponse:
    if from_ is not None and to is not None:
        if to < from_:
            raise ValidationFailed([field_error(["query", "to"], "to must not be before from", _iso(to))])
        if to - from_ > MAX_READ_SPAN:
            raise ValidationFailed([field_error(["query", "to"], "the from..to span is capped at 31 days", _iso(to))])
    elif from_ is not None:
        to = from_ + MAX_READ_SPAN
    elif to is not None:
        from_ = to - MAX_READ_SPAN
    rows = await repository.list_specs(
        session,
        company_id,
        asset_ids,
        latest=latest,
        valid_from_min=from_,
        valid_from_max=to,
        limit=page.limit,
        offset=page.offset,
    )
    return SpecListResponse(limit=page.limit, offset=page.offset, specs=[SpecResponse.from_row(r) for r in rows])
