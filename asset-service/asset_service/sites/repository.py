"""SQL of the sites domain. Every statement is scoped by company."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, func, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import (
    site_id_sequences,
    site_inverter_assets,
    site_inverter_limits,
    site_inverters,
    site_poc_limits,
    sites,
)
from .schemas import SiteLimitPeriodIn

inv = site_inverters
links = site_inverter_assets


async def next_sequence(session: AsyncSession, company_id: int, prefix: str) -> int:
    stmt = (
        insert(site_id_sequences)
        .values(company_id=company_id, prefix=prefix, last_value=1)
        .on_conflict_do_update(
            index_elements=["company_id", "prefix"],
            set_={"last_value": site_id_sequences.c.last_value + 1},
        )
        .returning(site_id_sequences.c.last_value)
    )
    return int((await session.execute(stmt)).scalar_one())


# --- sites ---------------------------------------------------------------------------------------


async def insert_site(session: AsyncSession, values: dict[str, Any]) -> dict[str, Any]:
    row = (await session.execute(insert(sites).values(**values).returning(*sites.c))).one()
    return dict(row._mapping)


async def get_site(
    session: AsyncSession, company_id: int, site_id: str, *, lock: bool = False, key_share: bool = False
) -> dict[str, Any] | None:
    """``lock``: FOR UPDATE; ``key_share``: FOR KEY SHARE (rows referencing the site are about to be
    written: a concurrent delete waits, or has already removed the site and it is not found)."""
    stmt = select(sites).where(sites.c.company_id == company_id, sites.c.id == site_id)
    if lock:
        stmt = stmt.with_for_update()
    elif key_share:
        stmt = stmt.with_for_update(read=True, key_share=True)
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def list_sites(
    session: AsyncSession,
    company_id: int,
    *,
    region: str | None,
    delivery_area: str | None,
    asset_id: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    stmt = select(sites).where(sites.c.company_id == company_id)
    if region is not None:
        stmt = stmt.where(sites.c.region == region)
    if delivery_area is not None:
        stmt = stmt.where(sites.c.delivery_area == delivery_area)
    if asset_id is not None:
        stmt = stmt.where(
            exists(
                select(1)
                .select_from(
                    inv.join(links, and_(links.c.company_id == inv.c.company_id, links.c.inverter_id == inv.c.id))
                )
                .where(
                    inv.c.company_id == sites.c.company_id, inv.c.site_id == sites.c.id, links.c.asset_id == asset_id
                )
            )
        )
    stmt = stmt.order_by(sites.c.created_at, sites.c.id).limit(limit).offset(offset)
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def update_site(session: AsyncSession, company_id: int, site_id: str, values: dict[str, Any]) -> dict[str, Any]:
    stmt = (
        update(sites)
        .where(sites.c.company_id == company_id, sites.c.id == site_id)
        .values(**values, updated_at=func.now())
        .returning(*sites.c)
    )
    return dict((await session.execute(stmt)).one()._mapping)


async def delete_site(session: AsyncSession, company_id: int, site_id: str) -> bool:
    """Deletes the site; its inverters and limits go with it (ON DELETE CASCADE)."""
    stmt = delete(sites).where(sites.c.company_id == company_id, sites.c.id == site_id).returning(sites.c.id)
    return (await session.execute(stmt)).first() is not None


# --- inverters -----------------------------------------------------------------------------------


def _inverters_query(company_id: int) -> Any:
    asset_ids = func.coalesce(
        func.array_agg(aggregate_order_by(links.c.asset_id, links.c.position)).filter(links.c.asset_id.is_not(None)),
        text("ARRAY[]::varchar[]"),
    ).label("asset_ids")
    return (
        select(inv, asset_ids)
        .select_from(
            inv.outerjoin(links, and_(links.c.company_id == inv.c.company_id, links.c.inverter_id == inv.c.id))
        )
        .where(inv.c.company_id == company_id)
        .group_by(*inv.primary_key.columns)
        .order_by(inv.c.site_id, inv.c.created_at, inv.c.id)
    )


async def inverters_of_sites(session: AsyncSession, company_id: int, site_ids: list[str]) -> list[dict[str, Any]]:
    if not site_ids:
        return []
    stmt = _inverters_query(company_id).where(inv.c.site_id.in_(site_ids))
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]


async def get_inverter(session: AsyncSession, company_id: int, site_id: str, inverter_id: str) -> dict[str, Any] | None:
    stmt = _inverters_query(company_id).where(inv.c.site_id == site_id, inv.c.id == inverter_id)
    row = (await session.execute(stmt)).first()
    return dict(row._mapping) if row else None


async def key_share_inverter(session: AsyncSession, company_id: int, site_id: str, inverter_id: str) -> bool:
    """Locks the inverter FOR KEY SHARE (rows referencing it are about to be written); False if absent."""
    stmt = (
        select(inv.c.id)
        .where(inv.c.company_id == company_id, inv.c.site_id == site_id, inv.c.id == inverter_id)
        .with_for_update(read=True, key_share=True)
    )
    return (await session.execute(stmt)).first() is not None


async def lock_inverter(session: AsyncSession, company_id: int, site_id: str, inverter_id: str) -> bool:
    stmt = (
        select(inv.c.id)
        .where(inv.c.company_id == company_id, inv.c.site_id == site_id, inv.c.id == inverter_id)
        .with_for_update()
    )
    return (await session.execute(stmt)).first() is not None


async def insert_inverter(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(inv).values(**values))


async def update_inverter(session: AsyncSession, company_id: int, inverter_id: str, values: dict[str, Any]) -> None:
    await session.execute(
        update(inv)
        .where(inv.c.company_id == company_id, inv.c.id == inverter_id)
        .values(**values, updated_at=func.now())
    )


async def replace_inverter_assets(
    session: AsyncSession, company_id: int, inverter_id: str, asset_ids: list[str]
) -> None:
    """Set-based: one DELETE and one INSERT ... SELECT FROM unnest (with the list's order)."""
    await session.execute(delete(links).where(links.c.company_id == company_id, links.c.inverter_id == inverter_id))
    await session.execute(
        text(
            "INSERT INTO asset.site_inverter_assets (company_id, inverter_id, asset_id, position) "
            "SELECT :company_id, :inverter_id, a.asset_id, a.ord "
            "FROM unnest(CAST(:asset_ids AS varchar[])) WITH ORDINALITY AS a(asset_id, ord)"
        ),
        {"company_id": company_id, "inverter_id": inverter_id, "asset_ids": asset_ids},
    )


async def delete_inverter(session: AsyncSession, company_id: int, site_id: str, inverter_id: str) -> bool:
    stmt = (
        delete(inv)
        .where(inv.c.company_id == company_id, inv.c.site_id == site_id, inv.c.id == inverter_id)
        .returning(inv.c.id)
    )
    return (await session.execute(stmt)).first() is not None


# --- PoC and inverter limits ---------------------------------------------------------------------

LIMIT_TABLES: dict[str, tuple[Table, str]] = {
    "site": (site_poc_limits, "site_id"),
    "inverter": (site_inverter_limits, "inverter_id"),
}


async def upsert_limits(
    session: AsyncSession, kind: str, company_id: int, owner_id: str, periods: list[SiteLimitPeriodIn]
) -> None:
    """Expand every period into quarter hours and upsert them by start_time, in one statement."""
    table, owner = LIMIT_TABLES[kind]
    name = f"{table.schema}.{table.name}"
    await session.execute(
        text(
            f"INSERT INTO {name} (company_id, {owner}, start_time, end_time, max_import_from_grid, max_export_to_grid) "
            "SELECT :company_id, :owner_id, q.t, q.t + interval '15 minutes', p.imp, p.exp "
            "FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]), "
            "            CAST(:imports AS numeric[]), CAST(:exports AS numeric[])) AS p(s, e, imp, exp) "
            "CROSS JOIN LATERAL generate_series(p.s, p.e - interval '15 minutes', interval '15 minutes') AS q(t) "
            f"ON CONFLICT (company_id, {owner}, start_time) DO UPDATE SET "
            "end_time = excluded.end_time, "
            "max_import_from_grid = excluded.max_import_from_grid, "
            "max_export_to_grid = excluded.max_export_to_grid, "
            "updated_at = now()"
        ),
        {
            "company_id": company_id,
            "owner_id": owner_id,
            "starts": [p.start_time for p in periods],
            "ends": [p.end_time for p in periods],
            "imports": [None if p.max_import_from_grid is None else p.max_import_from_grid.amount for p in periods],
            "exports": [None if p.max_export_to_grid is None else p.max_export_to_grid.amount for p in periods],
        },
    )


async def list_limits(
    session: AsyncSession,
    kind: str,
    company_id: int,
    owner_id: str,
    from_: datetime,
    to: datetime,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    table, owner = LIMIT_TABLES[kind]
    stmt = (
        select(table)
        .where(
            table.c.company_id == company_id,
            table.c[owner] == owner_id,
            table.c.start_time >= from_,
            table.c.start_time < to,
        )
        .order_by(table.c.start_time)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in (await session.execute(stmt)).all()]
