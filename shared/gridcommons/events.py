"""CloudEvents 1.0 structured JSON envelope, with the tenant in the ``companyid`` extension and the
trace context of the event's creation in the distributed-tracing extension (``traceparent``,
``tracestate``: ``gridcommons.tracing``)."""

from __future__ import annotations

import uuid
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
