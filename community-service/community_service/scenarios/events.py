"""Events of scenarios on ``community.scenario-choice.v1`` (key: the unit's internal id).

- ``...scenario-choice.chosen``: data = ``ScenarioChoiceV1``, a resident chose a scenario for a unit
  (``scenario_id`` null: un-selected; the unit then runs its local scenario file).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from gridcommons.community import UnitRef
from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

from ..db import outbox

TOPIC = "community.scenario-choice.v1"
CHOSEN = "org.gridcommons.community.scenario-choice.chosen"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the unit's internal id (one unit's choices stay in order)",
    description="Every scenario choice of a unit's resident (scenario_id null: un-selected; the unit then runs "
    "its local scenario file).",
)


class ScenarioChoiceV1(WireModel):
    """A unit's new current scenario."""

    company_id: int = Field(description="The company (tenant).")
    community_id: int = Field(description="Internal id of the unit's community.")
    community_code: str = Field(description="Code of the unit's community.")
    cluster_id: int = Field(description="Internal id of the unit's cluster.")
    cluster_code: str = Field(description="Code of the unit's cluster.")
    unit_id: int = Field(description="Internal id of the unit (the event key).")
    unit_code: str = Field(description="Code of the unit.")
    scenario_id: int | None = Field(description="The scenario chosen; null when the resident un-selected it.")
    chosen_by: int | None = Field(description="Gateway user id of the resident who chose.")
    chosen_at: datetime = Field(description="When the choice was recorded (UTC).")


PAYLOADS = {CHOSEN: ScenarioChoiceV1}


async def scenario_chosen(
    session: AsyncSession, unit: UnitRef, scenario_id: int | None, chosen_by: int | None, chosen_at: datetime
) -> None:
    data = ScenarioChoiceV1(
        company_id=unit.company_id,
        community_id=unit.community_id,
        community_code=unit.community_code,
        cluster_id=unit.cluster_id,
        cluster_code=unit.cluster_code,
        unit_id=unit.unit_id,
        unit_code=unit.unit_code,
        scenario_id=scenario_id,
        chosen_by=chosen_by,
        chosen_at=chosen_at,
    )
    await outbox.publish(
        session, topic=TOPIC, type=CHOSEN, subject=str(unit.unit_id), data=data, company_id=unit.company_id
    )
