"""The Kafka ingestion doors (``ingest.*`` topics): one decoder, the same credential as the HTTP doors.

Every ingestion message carries its sender's bearer token in the ``authorization`` header
(``Bearer <token>``), exactly what it would send to ``POST /api/ingest/<kind>``:

- a machine client's ``client_credentials`` token: the company and the role (``device``) are
  claims of the token (``company_id``, ``roles``);
- a user token: the company is the ``companyid`` header, the role the user's membership there in
  the service's memberships replica (``gridcommons.replicas``). Superusers get no special rights here.

The decoder verifies the token with the gateway's public keys (``gridcommons.bearer``), refuses a
revoked one (revoked-token replica), checks that the role is allowed on this door, and takes the
company from the credential. The body may still name a company (CloudEvents ``companyid``, or a
plain object's ``company_id``): when it names another company than the credential's, the message is
refused. A refused credential or envelope is a ``PoisonMessage``, a payload that does not match its
schema (or a rule of the service that refuses it) a ``ValidationFailed``: either goes to
``<topic>.dlq`` at once, with the reason in ``dlq_error``.

Which instant a token is judged at. A message may wait in Kafka (consumer down, backlog) past its
token's expiry:

- If the record's timestamp is the broker's append time (``LogAppendTime``, set on the
  production brokers: deploy/README.md), the token must have been valid at that instant, and the
  message is applied at most ``INGEST_TOKEN_GRACE_SECONDS`` (default 6 h) after the token expired;
  later it goes to the DLQ. The broker sets that time, the producer cannot forge it.
- Otherwise (``CreateTime``: set by the producer, who could backdate it to revive an expired
  token) the token is judged at the moment of consumption, with no grace.

Tracing: a message's ``traceparent`` (and ``tracestate``) header continues its sender's trace: the
decoder and ``apply`` run in the consumer's span (``ConsumerRunner``, ``gridcommons.tracing``), so
their log lines and the events ``apply`` publishes carry the sender's trace id.

Accepted encodings of the value: a CloudEvents 1.0 structured JSON envelope (payload in ``data``;
``id``/``source``/``time`` exposed for payloads that record them) or the plain JSON payload.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .bearer import BearerClaims, BearerVerifier, InvalidToken
from .consumer import ConsumerRunner, PoisonMessage, decode_json
from .errors import ValidationFailed
from .events import CloudEvent
from .outbox import Outbox
from .replicas import Replicas
from .settings import InfraSettings

AUTHORIZATION_HEADER = "authorization"
COMPANY_HEADER = "companyid"
LOG_APPEND_TIME = 1  # Kafka record timestamp type: set by the broker

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class IngestMessage:
    """A verified ingestion message: the company and role come from the credential."""

    company_id: int
    role: str
    credential: BearerClaims
    payload: dict[str, Any]
    envelope_id: str | None = None
    envelope_source: str | None = None
    envelope_time: datetime | None = None

    def parse(self, model: type[M], **defaults: Any) -> M:
        """The payload as ``model``; ``defaults`` fill fields the payload leaves out (None: not filled).
        A schema error is a ``ValidationFailed`` (a dead letter with every error in the reason)."""
        payload = dict(self.payload)
        for key, value in defaults.items():
            if key not in payload and value is not None:
                payload[key] = value
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise ValidationFailed(exc.errors(include_url=False)) from None


def _header(msg: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in msg.headers or ():
        if key.lower() == name:
            try:
                return value.decode() if value is not None else None
            except UnicodeDecodeError:
                raise PoisonMessage(f"header {name} is not UTF-8") from None
    return None


def _company(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise PoisonMessage(f"{what} must be a positive integer")
    try:
        company_id = int(str(value).strip())
    except (TypeError, ValueError):
        raise PoisonMessage(f"{what} must be a positive integer, got {str(value)[:40]!r}") from None
    if company_id <= 0 or company_id >= 2**63:
        raise PoisonMessage(f"{what} must be a positive integer, got {str(value)[:40]!r}")
    return company_id


class IngestDecoder:
    """Verifies and unwraps the messages of one ingestion door (the roles allowed on it)."""

    def __init__(self, verifier: BearerVerifier, replicas: Replicas, *, roles: Collection[str], grace_seconds: float):
        self.verifier = verifier
        self.replicas = replicas
        self.roles = frozenset(roles)
        self.grace = grace_seconds

    def judged_at(self, msg: ConsumerRecord[bytes, bytes], now: float) -> float:
        if msg.timestamp_type == LOG_APPEND_TIME and msg.timestamp is not None and msg.timestamp > 0:
            return min(msg.timestamp / 1000, now)
        return now

    async def decode(
        self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes], seen: dict[Any, Any] | None = None
    ) -> IngestMessage:
        """``seen``: the replica lookups (revoked token, membership) already made in this transaction, for
        the messages of a batch, which mostly carry one sender's token."""
        credential, company_id, role = await self._authenticate(session, msg, {} if seen is None else seen)
        body = decode_json(msg)
        if not isinstance(body, dict):
            raise PoisonMessage("value must be a JSON object")
        if "specversion" in body:
            try:
                event = CloudEvent.model_validate(body)
            except ValidationError as exc:
                raise PoisonMessage(f"invalid CloudEvents envelope: {exc}") from exc
            self._same_company(event.companyid, company_id, "CloudEvents companyid")
            if not isinstance(event.data, dict):
                raise PoisonMessage("CloudEvents data must be a JSON object")
            return IngestMessage(company_id, role, credential, event.data, event.id, event.source, event.time)
        if "company_id" in body:
            self._same_company(body["company_id"], company_id, "company_id")
        payload = {k: v for k, v in body.items() if k != "company_id"}
        return IngestMessage(company_id, role, credential, payload)

    @staticmethod
    def _same_company(named: Any, company_id: int, what: str) -> None:
        if named is None:
            return
        if _company(named, what) != company_id:
            raise PoisonMessage(f"{what} {str(named)[:40]} is not the credential's company {company_id}")

    async def _authenticate(
        self, session: AsyncSession, msg: ConsumerRecord[bytes, bytes], seen: dict[Any, Any]
    ) -> tuple[BearerClaims, int, str]:
        header = _header(msg, AUTHORIZATION_HEADER)
        if not header:
            raise PoisonMessage("credential missing: no authorization header")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PoisonMessage("credential invalid: the authorization header must be 'Bearer <token>'")
        now = time.time()
        try:
            claims = await self.verifier.verify(token.strip(), at=self.judged_at(msg, now))
        except InvalidToken as exc:
            raise PoisonMessage(f"credential refused: {exc}") from None
        if now >= claims.expires_at + self.grace:
            raise PoisonMessage("credential refused: token expired longer than the ingestion grace ago")
        revoked = seen.get(("revoked", claims.jti))
        if revoked is None:
            revoked = seen[("revoked", claims.jti)] = await self.replicas.is_revoked(session, claims.jti)
        if revoked:
            raise PoisonMessage("credential refused: token revoked")
        named = _header(msg, COMPANY_HEADER)
        if claims.kind == "client":
            if claims.company_id is None:
                raise PoisonMessage("credential refused: machine client token without a company (request a new one)")
            company_id = claims.company_id
            if named is not None and _company(named, "companyid header") != company_id:
                raise PoisonMessage(f"companyid header {named[:40]} is not the credential's company {company_id}")
            allowed = sorted(self.roles.intersection(claims.roles))
            if not allowed:
                raise PoisonMessage("credential refused: insufficient role for this ingestion topic")
            return claims, company_id, allowed[0]
        if named is None:
            raise PoisonMessage("credential refused: a user token needs the companyid header")
        company_id = _company(named, "companyid header")
        member = ("role", company_id, claims.subject)
        if member not in seen:
            seen[member] = await self.replicas.role(session, company_id, "user", claims.subject)
        role = seen[member]
        if role is None:
            raise PoisonMessage(f"credential refused: the user is not a member of company {company_id}")
        if role not in self.roles:
            raise PoisonMessage("credential refused: insufficient role for this ingestion topic")
        return claims, company_id, role


Apply = Callable[[AsyncSession, IngestMessage], Awaitable[None]]
# Batch mode: the verified new messages of one fetch in one call (e.g. one multi-row statement).
ApplyBatch = Callable[[AsyncSession, Sequence[IngestMessage]], Awaitable[None]]


def ingest_consumer(
    *,
    name: str,
    topic: str,
    roles: Collection[str],
    apply: Apply,
    sessionmaker: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    replicas: Replicas,
    infra: InfraSettings,
    verifier: BearerVerifier | None = None,
    batch_size: int = 1,
    apply_batch: ApplyBatch | None = None,
) -> ConsumerRunner:
    """The consumer group ``name`` of one ingestion topic: each message is verified and decoded
    (``IngestDecoder``), then ``apply(session, message)`` runs in the consumer's transaction.

    ``batch_size`` > 1 is the runner's batch mode; with ``apply_batch`` every new message of a batch
    is verified and the batch goes to ``apply_batch(session, messages)`` in one call. Any refusal
    (credential, envelope, payload) fails the batch, which the runner then redoes one message at a
    time with ``apply``: the refused message goes to the DLQ alone."""
    decoder = IngestDecoder(
        verifier or BearerVerifier.from_settings(infra),
        replicas,
        roles=roles,
        grace_seconds=infra.ingest_token_grace_seconds,
    )

    async def handle(session: AsyncSession, msg: ConsumerRecord[bytes, bytes]) -> None:
        await apply(session, await decoder.decode(session, msg))

    async def handle_batch(session: AsyncSession, msgs: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        assert apply_batch is not None
        seen: dict[Any, Any] = {}
        await apply_batch(session, [await decoder.decode(session, msg, seen) for msg in msgs])

    return ConsumerRunner(
        name=name,
        topics=(topic,),
        handler=handle,
        sessionmaker=sessionmaker,
        outbox=outbox,
        infra=infra,
        batch_size=batch_size,
        batch_handler=handle_batch if apply_batch is not None else None,
    )
