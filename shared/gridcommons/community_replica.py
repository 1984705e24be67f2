"""A service's replica of the community registry (``gridcommons.community``), kept from
community-service's events, and the ``RegistryLookup`` the guards read it through.

Tables, in the consuming service's own schema (migration step ``create_community_replica_tables``):

- ``registry_communities``: id, company, code, name, retired_at, version
- ``registry_clusters``: the same, plus the community's id and code
- ``registry_units``: the same, plus the cluster's id and code, the availability window and the
  linked residents (``resident_ids``, a ``bigint[]`` with a GIN index: "the units of this user")

Each record carries the codes of its parents (immutable, so copying them is safe): the three topics
are independent streams, a unit may arrive before its cluster, and every lookup is one indexed
query on one table, without joins. A record is written only when its event's ``version`` is higher
than the stored one (same company): replays, redeliveries and out-of-order events change nothing.

A service wires it in two lines: ``community_replica = CommunityReplica(outbox, service=...)`` in its
``db.py`` (registers the tables), ``*community_replica.workers(infra, sessionmaker)`` in its
``ConsumerGroup``, and ``app.state.registry_lookup = community_replica.lookup`` for the guards.
The consumer reads the three topics from the beginning, so a new service's replica is complete
once it caught up; until an event is consumed, its record is unknown to the service (normally
well under a second after community-service's commit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .community import (
    CLUSTER_CHANGED,
    CLUSTER_TOPIC,
    CODE_MAX_LENGTH,
    COMMUNITY_CHANGED,
    COMMUNITY_TOPIC,
    UNIT_CHANGED,
    UNIT_TOPIC,
    ClusterRef,
    ClusterV1,
    CommunityV1,
    UnitRef,
    UnitV1,
)
from .consumer import ConsumerRunner, PoisonMessage
from .events import CloudEvent, Consumes
from .outbox import Outbox
from .settings import InfraSettings

log = logging.getLogger("gridcommons.community_replica")

TOPICS = (COMMUNITY_TOPIC, CLUSTER_TOPIC, UNIT_TOPIC)


# ----------------------------------------------------------------------------- tables
def _code(name: str = "code") -> Column[str]:
    # "C" collation: codes order byte-wise, as in community-service, whatever the server's locale.
    return Column(name, String(CODE_MAX_LENGTH, collation="C"), nullable=False)


def _record_columns() -> list[Column[Any]]:
    return [
        Column("name", String(255), nullable=False),
        Column("retired_at", DateTime(timezone=True), nullable=True),
        Column("version", Integer, nullable=False),
        Column("replicated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    ]


def community_replica_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """The replica's tables in ``metadata``'s schema (kept in step with the migration step)."""
    communities = Table(
        "registry_communities",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("company_id", BigInteger, nullable=False),
        _code(),
        *_record_columns(),
        Index("ix_registry_communities_company_code", "company_id", "code"),
    )
    clusters = Table(
        "registry_clusters",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("company_id", BigInteger, nullable=False),
        Column("community_id", BigInteger, nullable=False),
        _code("community_code"),
        _code(),
        *_record_columns(),
        Index("ix_registry_clusters_company_codes", "company_id", "community_code", "code"),
    )
    units = Table(
        "registry_units",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=False),
        Column("company_id", BigInteger, nullable=False),
        Column("community_id", BigInteger, nullable=False),
        _code("community_code"),
        Column("cluster_id", BigInteger, nullable=False),
        _code("cluster_code"),
        _code(),
        Column("available_from", DateTime(timezone=True), nullable=True),
        Column("available_to", DateTime(timezone=True), nullable=True),
        Column("resident_ids", ARRAY(BigInteger), nullable=False, server_default="{}"),
        *_record_columns(),
        Index("ix_registry_units_company_codes", "company_id", "community_code", "cluster_code", "code"),
        # fastupdate off: every write goes into the index at once. A replica is written rarely and
        # read on every resident request; a pending list (until the next vacuum) made each search
        # scan it (bench/community_lookup.py: 8.9 ms instead of 0.05 ms after a catch-up).
        Index(
            "ix_registry_units_resident_ids",
            "resident_ids",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
    )
    return communities, clusters, units


# ----------------------------------------------------------------------------- the lookup
class ReplicaLookup:
    """``gridcommons.community.RegistryLookup`` over a service's replica tables: scoped by company
    (another company's codes are unknown), retired records found."""

    def __init__(self, communities: Table, clusters: Table, units: Table):
        self.communities = communities
        self.clusters = clusters
        self.units = units

    async def cluster(
        self, session: AsyncSession, company_id: int, community_code: str, cluster_code: str
    ) -> ClusterRef | None:
        t = self.clusters
        row = (
            await session.execute(
                select(t.c.community_id, t.c.community_code, t.c.id, t.c.code, t.c.retired_at).where(
                    t.c.company_id == company_id, t.c.community_code == community_code, t.c.code == cluster_code
                )
            )
        ).first()
        if row is None:
            return None
        return ClusterRef(
            company_id=company_id,
            community_id=row[0],
            community_code=row[1],
            cluster_id=row[2],
            cluster_code=row[3],
            retired=row[4] is not None,
        )

    async def unit(
        self, session: AsyncSession, company_id: int, community_code: str, cluster_code: str, unit_code: str
    ) -> UnitRef | None:
        t = self.units
        row = (
            await session.execute(
                select(t).where(
                    t.c.company_id == company_id,
                    t.c.community_code == community_code,
                    t.c.cluster_code == cluster_code,
                    t.c.code == unit_code,
                )
            )
        ).first()
        return None if row is None else UnitRef.from_row(row._mapping, unit_id="id", unit_code="code")

    async def resident_units(self, session: AsyncSession, company_id: int, user_id: int) -> list[UnitRef]:
        t = self.units
        rows = await session.execute(
            select(t)
            .where(t.c.company_id == company_id, t.c.resident_ids.contains([user_id]))
            .order_by(t.c.community_code, t.c.cluster_code, t.c.code)
        )
        return [UnitRef.from_row(r._mapping, unit_id="id", unit_code="code") for r in rows]

    async def units_by_codes(
        self, session: AsyncSession, company_id: int, codes: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], UnitRef]:
        """The company's units named by (community, cluster, unit) codes, retired ones included, in one
        indexed query: ``{codes: unit}``, codes of another company or unknown absent (a service
        validating a list of unit references names the missing ones)."""
        wanted = sorted({c for c in codes if all(0 < len(part) <= CODE_MAX_LENGTH for part in c)})
        if not wanted:
            return {}
        t = self.units
        rows = await session.execute(
            select(t).where(
                t.c.company_id == company_id, tuple_(t.c.community_code, t.c.cluster_code, t.c.code).in_(wanted)
            )
        )
        found = (UnitRef.from_row(r._mapping, unit_id="id", unit_code="code") for r in rows)
        return {(u.community_code, u.cluster_code, u.unit_code): u for u in found}

    async def companies_with_community(
        self, session: AsyncSession, community_code: str, company_ids: Sequence[int]
    ) -> list[int]:
        """Which of ``company_ids`` hold a community with this code (retired ones count), in
        ascending order: one indexed query (the gateway's form doors map a device's code to its
        company with it)."""
        if not company_ids or not 0 < len(community_code) <= CODE_MAX_LENGTH:
            return []
        t = self.communities
        rows = await session.execute(
            select(t.c.company_id)
            .where(t.c.company_id.in_(sorted(set(company_ids))), t.c.code == community_code)
            .distinct()
            .order_by(t.c.company_id)
        )
        return [int(r[0]) for r in rows]


# ----------------------------------------------------------------------------- the replica
class CommunityReplica:
    """A service's replica of the community registry: its tables (registered in the outbox's
    metadata), the consumer that keeps them (``workers``) and the guards' lookup (``lookup``)."""

    def __init__(self, outbox: Outbox, *, service: str):
        self.outbox = outbox
        self.service = service
        self.communities, self.clusters, self.units = community_replica_tables(outbox.table.metadata)
        self.lookup = ReplicaLookup(self.communities, self.clusters, self.units)

    # ------------------------------------------------------------------ writes (the consumer)
    async def apply(self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = CloudEvent.model_validate_json(msg.value or b"")
        except ValidationError as exc:
            raise PoisonMessage(f"invalid CloudEvents envelope: {exc.error_count()} error(s)") from exc
        await self.apply_event(session, event)

    async def apply_event(self, session: AsyncSession, event: CloudEvent) -> None:
        """Write one registry event (the consumer's handler, without Kafka): unknown event types
        are ignored (a later version of the topic may carry more), invalid ones are poison."""
        model: type[BaseModel]
        if event.type == COMMUNITY_CHANGED:
            table, model = self.communities, CommunityV1
        elif event.type == CLUSTER_CHANGED:
            table, model = self.clusters, ClusterV1
        elif event.type == UNIT_CHANGED:
            table, model = self.units, UnitV1
        else:
            log.info("%s: ignoring event type %s", self.service, event.type)
            return
        company = event.companyid or ""
        if not company.isdigit() or int(company) <= 0:
            raise PoisonMessage(f"{event.type} without a valid companyid extension")
        try:
            data = model.model_validate(event.data)
        except ValidationError as exc:
            raise PoisonMessage(f"invalid {event.type} payload: {exc.error_count()} error(s)") from exc
        await self._upsert(session, table, int(company), data)

    async def _upsert(self, session: AsyncSession, table: Table, company_id: int, data: BaseModel) -> None:
        row = data.model_dump(include={c.name for c in table.columns})
        row["company_id"] = company_id
        if "resident_ids" in row:
            row["resident_ids"] = sorted(set(row["resident_ids"]))
        stmt = insert(table).values(**row)
        changed = {name: stmt.excluded[name] for name in row if name not in ("id", "company_id")}
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={**changed, "replicated_at": func.now()},
                # Only a newer state of the same company's record: an older or repeated event, or
                # one naming another company for this id, leaves the row as it is.
                where=(table.c.version < stmt.excluded.version) & (table.c.company_id == stmt.excluded.company_id),
            )
        )

    @property
    def consumer(self) -> str:
        return f"{self.service}.community-replica"

    def consumes(self) -> Consumes:
        """What the replica's consumer reads, for the service's ``CONSUMES`` (the AsyncAPI document)."""
        return Consumes(
            self.consumer,
            tuple(TOPICS),
            "Keeps the service's replica of the community registry (gridcommons.community_replica), read by "
            "the seed 004 guards (communityId/clusterId/unitId, residents).",
        )

    def workers(self, infra: InfraSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[ConsumerRunner]:
        """The consumer that keeps the replica (put it into the service's ``ConsumerGroup``)."""
        return [
            ConsumerRunner(
                name=self.consumer,
                topics=TOPICS,
                handler=self.apply,
                sessionmaker=sessionmaker,
                outbox=self.outbox,
                infra=infra,
            )
        ]
