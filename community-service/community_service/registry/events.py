"""Events of the registry: every change of a community, cluster or unit publishes the record's current
state (``gridcommons.community``'s payload models, shared with the replicas that read them).

- ``community.community.v1`` (key: community id): ``...community.changed``, ``CommunityV1``;
- ``community.cluster.v1`` (key: cluster id): ``...cluster.changed``, ``ClusterV1``;
- ``community.unit.v1`` (key: unit id): ``...unit.changed``, ``UnitV1`` with ``resident_ids``.

Create, update, retire (each record a cascade retires too), and for units linking or unlinking a
resident: the record's ``version`` grows by one and its new state is published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import (
    CLUSTER_CHANGED,
    CLUSTER_TOPIC,
    COMMUNITY_CHANGED,
    COMMUNITY_TOPIC,
    UNIT_CHANGED,
    UNIT_TOPIC,
    ClusterV1,
    CommunityV1,
    UnitV1,
)
from gridcommons.community import PAYLOADS as _PAYLOADS

from ..db import outbox

TOPICS = {
    COMMUNITY_TOPIC: {COMMUNITY_CHANGED},
    CLUSTER_TOPIC: {CLUSTER_CHANGED},
    UNIT_TOPIC: {UNIT_CHANGED},
}
PAYLOADS: dict[str, type[BaseModel]] = dict(_PAYLOADS)


def _fields(model: type[BaseModel], row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in model.model_fields if k in row}


async def _publish(
    session: AsyncSession, company_id: int, topic: str, type_: str, record_id: int, data: BaseModel
) -> None:
    key = str(record_id)
    await outbox.publish(session, topic=topic, type=type_, subject=key, key=key, data=data, company_id=company_id)


async def community_changed(session: AsyncSession, company_id: int, row: Mapping[str, Any]) -> None:
    data = CommunityV1.model_validate(_fields(CommunityV1, row))
    await _publish(session, company_id, COMMUNITY_TOPIC, COMMUNITY_CHANGED, data.id, data)


async def clusters_changed(session: AsyncSession, company_id: int, rows: Iterable[Mapping[str, Any]]) -> None:
    """One event per cluster (a cascade's many in one multi-row INSERT)."""
    payloads = [ClusterV1.model_validate(_fields(ClusterV1, row)) for row in rows]
    await outbox.publish_many(
        session,
        topic=CLUSTER_TOPIC,
        type=CLUSTER_CHANGED,
        company_id=company_id,
        events=[(str(p.id), p) for p in payloads],
    )


async def units_changed(session: AsyncSession, company_id: int, rows: Iterable[Mapping[str, Any]]) -> None:
    """One event per unit (a cascade's many in one multi-row INSERT)."""
    payloads = [UnitV1.model_validate(_fields(UnitV1, row)) for row in rows]
    await outbox.publish_many(
        session, topic=UNIT_TOPIC, type=UNIT_CHANGED, company_id=company_id, events=[(str(p.id), p) for p in payloads]
    )
