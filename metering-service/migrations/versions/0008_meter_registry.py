"""meter registry: locations, meter models, measurements, registers, hosts and assigned measurements

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCHEMA = "metering"


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("street", sa.String(255), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("city", sa.String(255), nullable=False),
        sa.Column("zip_code", sa.String(6), nullable=False),
        sa.Column("coord_x", sa.Float, nullable=True),
        sa.Column("coord_y", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_locations"),
        sa.UniqueConstraint("company_id", "street", "number", "city", name="uq_locations_address"),
        schema=SCHEMA,
    )
    op.create_index("ix_locations_company_user", "locations", ["company_id", "user_id"], schema=SCHEMA)
    op.create_table(
        "meters",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("type", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_meters"),
        sa.UniqueConstraint("company_id", "name", name="uq_meters_name"),
        sa.CheckConstraint("type IN (1, 2)", name="ck_meters_type"),
        schema=SCHEMA,
    )
    op.create_table(
        "measurements",
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("type", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("company_id", "name", name="pk_measurements"),
        sa.CheckConstraint("type IN (1, 2)", name="ck_measurements_type"),
        schema=SCHEMA,
    )
    op.create_table(
        "registers",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("meter_id", sa.BigInteger, nullable=False),
        sa.Column("measurement", sa.String(64), nullable=False),
        sa.Column("address", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("type", sa.SmallInteger, nullable=False),
        sa.Column("function_code", sa.SmallInteger, nullable=False),
        sa.Column("word_order", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_registers"),
        sa.UniqueConstraint("meter_id", "measurement", name="uq_registers_meter_measurement"),
        sa.ForeignKeyConstraint(["meter_id"], [f"{SCHEMA}.meters.id"], name="fk_registers_meter_id_meters"),
        sa.ForeignKeyConstraint(
            ["company_id", "measurement"],
            [f"{SCHEMA}.measurements.company_id", f"{SCHEMA}.measurements.name"],
            name="fk_registers_company_id_measurements",
        ),
        sa.CheckConstraint("type IN (1, 2, 3)", name="ck_registers_type"),
        sa.CheckConstraint("function_code IN (3, 4)", name="ck_registers_function_code"),
        sa.CheckConstraint("word_order IN ('msw_first', 'lsw_first')", name="ck_registers_word_order"),
        schema=SCHEMA,
    )
    op.create_index("ix_registers_company", "registers", ["company_id", "id"], schema=SCHEMA)
    op.create_table(
        "hosts",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("location_id", sa.BigInteger, nullable=False),
        sa.Column("meter_id", sa.BigInteger, nullable=False),
        sa.Column("ip", sa.String(45), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("slave_address", sa.SmallInteger, nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("poll_interval_seconds", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("status_reason", sa.String(500), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_hosts"),
        sa.UniqueConstraint("company_id", "ip", "port", "slave_address", name="uq_hosts_endpoint"),
        sa.ForeignKeyConstraint(["location_id"], [f"{SCHEMA}.locations.id"], name="fk_hosts_location_id_locations"),
        sa.ForeignKeyConstraint(["meter_id"], [f"{SCHEMA}.meters.id"], name="fk_hosts_meter_id_meters"),
        sa.CheckConstraint("status IN ('pending', 'ok', 'stale')", name="ck_hosts_status"),
        schema=SCHEMA,
    )
    op.create_index("ix_hosts_company_user", "hosts", ["company_id", "user_id"], schema=SCHEMA)
    op.create_table(
        "assigned_measurements",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.BigInteger, nullable=False),
        sa.Column("host_id", sa.BigInteger, nullable=False),
        sa.Column("measurement", sa.String(64), nullable=False),
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_assigned_measurements"),
        sa.UniqueConstraint("host_id", "measurement", name="uq_assigned_measurements_host_measurement"),
        sa.ForeignKeyConstraint(["host_id"], [f"{SCHEMA}.hosts.id"], name="fk_assigned_measurements_host_id_hosts"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("assigned_measurements", "hosts", "registers", "measurements", "meters", "locations"):
        op.drop_table(table, schema=SCHEMA)
