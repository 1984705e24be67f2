"""deal_sum_buckets: cumulateAmountWh summed per cluster (and per unit taking part) and 15-minute UTC
bucket of createDateTime, kept by triggers on deals; backfilled from the deals already there

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "deal"

# The deltas of a statement's rows: each deal with a cumulateAmountWh counts in its cluster's row
# (unit_code '') and in the row of each unit taking part (charging side; discharging side when it is
# another unit), in the 15-minute UTC bucket of its createDateTime. ``{rows}`` is a transition table,
# ``{sign}`` 1 for new rows and -1 for old ones.
_DELTAS = """
SELECT r.company_id, r.community_code, r.cluster_code, u.unit_code,
       date_bin('15 minutes', r.create_date_time, timestamptz '1900-01-01 00:00:00+00') AS bucket,
       {sign} AS deals, {sign} * r.cumulate_amount_wh AS total
FROM {rows} AS r
CROSS JOIN LATERAL (VALUES (''), (r.charge_unit_id),
                           (CASE WHEN r.discharge_unit_id IS DISTINCT FROM r.charge_unit_id
                                 THEN r.discharge_unit_id END)) AS u(unit_code)
WHERE r.cumulate_amount_wh IS NOT NULL AND u.unit_code IS NOT NULL
"""

# Rows are applied in key order so that concurrent statements lock shared buckets in one order (no
# deadlock between them). A bucket whose deals all left it keeps its row with deals = 0, read as absent.
_APPLY = """
INSERT INTO deal.deal_sum_buckets AS s (company_id, community_code, cluster_code, unit_code, bucket, deals, total)
SELECT company_id, community_code, cluster_code, unit_code, bucket, sum(deals), sum(total)
FROM ({deltas}) AS delta
GROUP BY 1, 2, 3, 4, 5
HAVING sum(deals) <> 0 OR sum(total) <> 0
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (company_id, community_code, cluster_code, unit_code, bucket)
DO UPDATE SET deals = s.deals + excluded.deals, total = s.total + excluded.total
"""

_FUNCTION = f"""
CREATE FUNCTION deal.deal_sum_buckets_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_APPLY.format(deltas=_DELTAS.format(rows="new_rows", sign=1))};
    ELSIF TG_OP = 'UPDATE' THEN
        {
    _APPLY.format(
        deltas=_DELTAS.format(rows="new_rows", sign=1) + " UNION ALL " + _DELTAS.format(rows="old_rows", sign=-1)
    )
};
    ELSE
        {_APPLY.format(deltas=_DELTAS.format(rows="old_rows", sign=-1))};
    END IF;
    RETURN NULL;
END
$$
"""

# Statement-level triggers with transition tables: one aggregated write per statement (an upsert of
# thousands of deals touches a few buckets once), and INSERT ... ON CONFLICT DO UPDATE fires both the
# INSERT trigger (rows inserted) and the UPDATE trigger (rows updated, with their old values).
_TRIGGERS = (
    "CREATE TRIGGER deal_sum_buckets_insert AFTER INSERT ON deal.deals REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION deal.deal_sum_buckets_apply()",
    "CREATE TRIGGER deal_sum_buckets_update AFTER UPDATE ON deal.deals "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION deal.deal_sum_buckets_apply()",
    "CREATE TRIGGER deal_sum_buckets_delete AFTER DELETE ON deal.deals REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION deal.deal_sum_buckets_apply()",
)


def upgrade() -> None:
    op.create_table(
        "deal_sum_buckets",
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.Column("community_code", sa.String(64), nullable=False),
        sa.Column("cluster_code", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deals", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "community_code", "cluster_code", "unit_code", "bucket"),
        schema=SCHEMA,
    )
    op.execute(_FUNCTION)
    # The triggers first: their lock on deals holds writers off until this migration commits, so the
    # backfill below and the triggers' deltas never miss or double a report.
    for trigger in _TRIGGERS:
        op.execute(trigger)
    op.execute(
        "INSERT INTO deal.deal_sum_buckets (company_id, community_code, cluster_code, unit_code, bucket, deals, total) "
        f"SELECT company_id, community_code, cluster_code, unit_code, bucket, sum(deals), sum(total) "
        f"FROM ({_DELTAS.format(rows='deal.deals', sign=1)}) AS d GROUP BY 1, 2, 3, 4, 5"
    )


def downgrade() -> None:
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER deal_sum_buckets_{name} ON deal.deals")
    op.execute("DROP FUNCTION deal.deal_sum_buckets_apply()")
    op.drop_table("deal_sum_buckets", schema=SCHEMA)
