"""Column blocks shared by the per-asset tables (forecasts, reservations, period limits, state snapshots).

Each call returns fresh Column objects (a Column belongs to one Table); the tables list them in the
order their migrations create them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Date, DateTime, ForeignKeyConstraint, String, func


def asset_key() -> list[Column[Any]]:
    """company_id and asset_id: the owner of the row."""
    return [
        Column("company_id", BigInteger, nullable=False),
        Column("asset_id", String(128, collation="C"), nullable=False),
    ]


def period_start() -> Column[Any]:
    return Column("start_time", DateTime(timezone=True), nullable=False)


def period_end() -> list[Column[Any]]:
    """end_time and delivery_day (the start's local date in the asset's region)."""
    return [
        Column("end_time", DateTime(timezone=True), nullable=False),
        Column("delivery_day", Date, nullable=False),
    ]


def timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def asset_foreign_key() -> ForeignKeyConstraint:
    """(company_id, asset_id) -> asset.assets, rows go with their asset."""
    return ForeignKeyConstraint(
        ["company_id", "asset_id"], ["asset.assets.company_id", "asset.assets.id"], ondelete="CASCADE"
    )
