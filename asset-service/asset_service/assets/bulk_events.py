"""Many events in one statement: the outbox rows of a batch write are one multi-row INSERT (and one NOTIFY).

Same rows as ``gridcommons.outbox.Outbox.publish`` writes one at a time (the relay cannot tell them apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.events import CloudEvent

from ..db import outbox


async def publish_many(
    session: AsyncSession, *, topic: str, type: str, company_id: int, events: Sequence[tuple[str, Any]]
) -> list[CloudEvent]:
    """``events``: (subject = key, data) pairs, published in this order."""
    if not events:
        return []
    built = [
        CloudEvent(source=outbox.source, type=type, subject=subject, companyid=str(company_id), data=data)
        for subject, data in events
    ]
    await session.execute(
        insert(outbox.table).values(
            [
                {
                    "event_id": event.id,
                    "topic": topic,
                    "key": event.subject,
                    "payload": event.model_dump(mode="json", exclude_none=True),
                }
                for event in built
            ]
        )
    )
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": outbox.channel})
    return built
