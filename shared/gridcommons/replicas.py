"""Replicas of the gateway's identity state in a service's own schema, kept from the gateway's events.

- ``revoked_tokens``: the revoked bearer tokens (jti, expiry) from ``gateway.token.v1``
  (``token.revoked``, published by the gateway for every revocation). A row is kept until its
  token expired plus ``INGEST_TOKEN_GRACE_SECONDS``: as long as a message carrying it could still
  be judged (``gridcommons.ingest``).
- ``memberships``: who holds which role in which company, from ``gateway.membership.v1``
  (users and machine clients; ``role`` null = removed).

One consumer (group ``<service>.gateway-replicas``) reads both topics from the beginning, so a new
service's replica is complete once it caught up. Both are eventually consistent: a revocation is
known to a service once its event was consumed (normally well under a second after the
gateway's commit); a message consumed before that is accepted, as an HTTP request reaching a
gateway replica before its cache heard of the revocation would be.

Tables are created by the kernel migration step ``create_replica_tables`` (every service's chain).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

from aiokafka.structs import ConsumerRecord
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import BigInteger, Column, DateTime, Index, MetaData, String, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .consumer import ConsumerRunner, PoisonMessage
from .events import CloudEvent, Consumes, TopicDoc
from .outbox import Outbox
from .settings import InfraSettings
from .timeutil import utcnow

log = logging.getLogger("gridcommons.replicas")

TOKEN_TOPIC = "gateway.token.v1"
TOKEN_REVOKED = "org.gridcommons.gateway.token.revoked"
MEMBERSHIP_TOPIC = "gateway.membership.v1"
MEMBERSHIP_CHANGED = "org.gridcommons.gateway.membership.changed"

# What the gateway's two topics carry (the AsyncAPI document: ``gridcommons.asyncapi``).
TOKEN_TOPIC_DOC = TopicDoc(
    TOKEN_TOPIC,
    key="the token's jti",
    description="Every revoked bearer token (logout, a superseding login, a revoked machine client), with its "
    "expiry. Every service with a Kafka ingestion door keeps a replica of the revoked, unexpired jtis "
    "(gridcommons.replicas) and refuses messages carrying one.",
)
MEMBERSHIP_TOPIC_DOC = TopicDoc(
    MEMBERSHIP_TOPIC,
    key="the company id (one company's changes stay in order)",
    description="Membership, role and machine-client changes of a company (role null: the membership was "
    "removed or the machine client revoked). Services keep a replica of who holds which role where.",
)


# ----------------------------------------------------------------------------- event payloads (version 1)
class TokenRevokedV1(BaseModel):
    """``data`` of ``token.revoked`` on ``gateway.token.v1`` (key: the jti)."""

    model_config = ConfigDict(extra="ignore")

    jti: str = Field(min_length=1, max_length=255)
    expires_at: AwareDatetime


class MembershipChangedV1(BaseModel):
    """``data`` of ``membership.changed`` on ``gateway.membership.v1`` (key: the company id)."""

    model_config = ConfigDict(extra="ignore")

    company_id: int = Field(gt=0)
    kind: Literal["user", "client"]
    user_id: int | None = None
    client_id: str | None = None
    username: str | None = None
    role: str | None = None  # None: the membership was removed (or the machine client revoked)

    @property
    def member(self) -> str:
        member = str(self.user_id) if self.kind == "user" else self.client_id
        if not member or member == "None":
            raise ValueError("membership event without a user_id/client_id")
        return member


# ----------------------------------------------------------------------------- tables
def replica_tables(metadata: MetaData) -> tuple[Table, Table]:
    revoked = Table(
        "revoked_tokens",
        metadata,
        Column("jti", String(255), primary_key=True),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_revoked_tokens_expires_at", "expires_at"),
    )
    memberships = Table(
        "memberships",
        metadata,
        Column("company_id", BigInteger, primary_key=True),
        Column("kind", String(16), primary_key=True),
        Column("member", String(255), primary_key=True),  # user id (decimal) or machine client id
        Column("role", String(32), nullable=False),
        Column("username", String(150), nullable=True),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return revoked, memberships


class Replicas:
    """A service's replicas of the gateway's revocations and memberships (tables in its schema)."""

    def __init__(self, outbox: Outbox, *, service: str):
        metadata = outbox.table.metadata
        self.outbox = outbox
        self.service = service
        self.revoked_table, self.memberships_table = replica_tables(metadata)

    # ------------------------------------------------------------------ reads
    async def is_revoked(self, session: AsyncSession, jti: str) -> bool:
        t = self.revoked_table
        return (await session.execute(select(t.c.jti).where(t.c.jti == jti))).first() is not None

    async def role(self, session: AsyncSession, company_id: int, kind: str, member: str) -> str | None:
        t = self.memberships_table
        row = (
            await session.execute(
                select(t.c.role).where(t.c.company_id == company_id, t.c.kind == kind, t.c.member == member)
            )
        ).first()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ writes (the consumer)
    async def apply(
        self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes], *, keep_after_expiry: float
    ) -> None:
        try:
            event = CloudEvent.model_validate_json(msg.value or b"")
        except ValidationError as exc:
            raise PoisonMessage(f"invalid CloudEvents envelope: {exc.error_count()} error(s)") from exc
        try:
            if event.type == TOKEN_REVOKED:
                await self._revoked(session, TokenRevokedV1.model_validate(event.data), keep_after_expiry)
            elif event.type == MEMBERSHIP_CHANGED:
                await self._membership(session, MembershipChangedV1.model_validate(event.data))
            else:
                log.info("%s: ignoring event type %s on %s", self.service, event.type, msg.topic)
        except (ValidationError, ValueError) as exc:
            raise PoisonMessage(f"invalid {event.type} payload: {exc}") from exc

    async def _revoked(self, session: AsyncSession, data: TokenRevokedV1, keep_after_expiry: float) -> None:
        t = self.revoked_table
        await session.execute(
            insert(t).values(jti=data.jti, expires_at=data.expires_at).on_conflict_do_nothing(index_elements=[t.c.jti])
        )
        horizon = utcnow() - timedelta(seconds=keep_after_expiry)
        await session.execute(delete(t).where(t.c.expires_at < horizon))

    async def _membership(self, session: AsyncSession, data: MembershipChangedV1) -> None:
        t = self.memberships_table
        key = {"company_id": data.company_id, "kind": data.kind, "member": data.member}
        if data.role is None:
            await session.execute(
                delete(t).where(
                    t.c.company_id == key["company_id"], t.c.kind == key["kind"], t.c.member == key["member"]
                )
            )
            return
        stmt = insert(t).values(**key, role=data.role, username=data.username)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[t.c.company_id, t.c.kind, t.c.member],
                set_={"role": stmt.excluded.role, "username": stmt.excluded.username, "updated_at": func.now()},
            )
        )

    @property
    def consumer(self) -> str:
        """The name of the replicas' consumer (its dedup key in ``processed_events``)."""
        return f"{self.service}.gateway-replicas"

    def consumes(self) -> Consumes:
        """What the replicas' consumer reads, for the service's ``CONSUMES`` (the AsyncAPI document)."""
        return Consumes(
            self.consumer,
            (TOKEN_TOPIC, MEMBERSHIP_TOPIC),
            "Keeps the service's replicas of the revoked tokens and of the memberships (gridcommons.replicas), "
            "read by its ingestion doors' credential check.",
        )

    def workers(self, infra: InfraSettings, sessionmaker: async_sessionmaker[AsyncSession]) -> Sequence[ConsumerRunner]:
        """The consumer that keeps both replicas (add it to the service's workers)."""
        keep = infra.ingest_token_grace_seconds

        async def handle(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
            await self.apply(session, msg, keep_after_expiry=keep)

        return [
            ConsumerRunner(
                name=self.consumer,
                topics=(TOKEN_TOPIC, MEMBERSHIP_TOPIC),
                handler=handle,
                sessionmaker=sessionmaker,
                outbox=self.outbox,
                infra=infra,
            )
        ]
