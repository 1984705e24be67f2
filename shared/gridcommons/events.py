"""CloudEvents 1.0 structured JSON envelope, with the tenant in the ``companyid`` extension and the
trace context of the event's creation in the distributed-tracing extension (``traceparent``,
``tracestate``: ``gridcommons.tracing``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .timeutil import utcnow

CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str
    time: AwareDatetime = Field(default_factory=utcnow)
    subject: str | None = None
    datacontenttype: str = "application/json"
    companyid: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    data: Any = None

    def to_bytes(self) -> bytes:
        # pydantic's serializer, not orjson: it also takes integers beyond 64 bits.
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)


# ---- event payloads: each event type's ``data`` is a versioned model of its own (``<Name>V1``)


def event_data(data: Any) -> Any:
    """An event's ``data`` as the outbox stores it: a payload model as JSON (by alias), anything else as
    given (JSON-ready data, e.g. the rows a batch formats once for its response and its events)."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", by_alias=True)
    return data


def asyncapi_payload_schemas(modules: Iterable[ModuleType]) -> dict[str, dict[str, Any]]:
    """{event type (the AsyncAPI message name): JSON schema of its ``data``} from ``PAYLOADS`` (``{type:
    payload model}``) of every given ``events`` module, as a producer's consumers read it (serialization
    mode, by alias; nested models under ``$defs``)."""
    out: dict[str, dict[str, Any]] = {}
    for module in modules:
        for type_, model in getattr(module, "PAYLOADS", {}).items():
            out[type_] = model.model_json_schema(mode="serialization", by_alias=True)
    return out


# ---- what the AsyncAPI document says about topics and consumers (``gridcommons.asyncapi`` reads these)


@dataclass(frozen=True)
class TopicDoc:
    """A published topic's documentation: declared in the ``events`` module that publishes on it (the
    generator finds every ``TopicDoc`` among the module's names). ``key`` says what the Kafka message key
    is; ``description`` what the topic carries and when."""

    topic: str
    key: str
    description: str


@dataclass(frozen=True)
class Consumes:
    """One consumer (a ``ConsumerRunner``) of a service's workers and the topics it reads. A service lists
    them in ``CONSUMES`` in its workers module; a test holds that list equal to what ``build`` wires."""

    consumer: str  # the runner's name: its dedup key and the DLQ's ``dlq_consumer`` header
    topics: tuple[str, ...]
    description: str
    # The Kafka consumer group, when the runner has one of its own (else the workers module's CONSUMER_GROUP).
    group: str | None = None


@dataclass(frozen=True)
class IngestDoor:
    """A Kafka ingestion door (``gridcommons.ingest.ingest_consumer``): one ``ingest.*`` topic, the roles
    allowed, and the payload model (the body of the HTTP door of the same kind, where there is one).
    ``key`` tells senders what to use as the message key; ``envelope_defaults`` names the payload fields the
    consumer fills from a CloudEvents envelope's id, source and time when the data leaves them out."""

    consumer: str
    topic: str
    payload: type[BaseModel]
    roles: Collection[str]
    key: str
    description: str
    envelope_defaults: tuple[str, ...] = ()

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.topic,)
