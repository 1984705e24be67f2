"""Events of failures: ``monitoring.failure.v1`` (key: the failure id).

One event when a failure is opened (``org.gridcommons.monitoring.failure.detected``) and one when it is
closed (``org.gridcommons.monitoring.failure.closed``), written in the transaction that opens or closes
it. The notifier (e-mail, webhooks) delivers from these events, so a mail server outage delays a
notification but never loses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from gridcommons.events import TopicDoc
from gridcommons.wire import WireModel

JobType = Literal[
    "apis_main_alive",
    "apis_ccc_alive",
    "grid_master_alive",
    "apis_main_severe",
    "apis_ccc_severe",
    "apis_log_severe",
]


class FailureV1(WireModel):
    """A failure as it was opened or closed."""

    failure_id: int = Field(description="Id of the failure (the event key).")
    status: Literal["detected", "closed"] = Field(description="What happened: opened (detected) or closed.")
    type: JobType = Field(description="The job type that detected it.")
    community_id: str = Field(description="Code of the failure's community.")
    cluster_id: str = Field(description="Code of the failure's cluster.")
    program_id: str | None = Field(
        description="The program the failure is about (apis-main, apis-ccc, apis-log), if any."
    )
    unit_id: str | None = Field(description="Code of the unit the failure is about, for per-unit jobs.")
    detected: datetime = Field(description="When the failure was opened (UTC).")
    closed: datetime | None = Field(description="When it was closed (UTC); null while open.")
    close_reason: Literal["ok", "job deactivated", "unit retired"] | None = Field(
        description="Why it was closed: the job's next OK, the job deactivated, or the unit retired; null while open."
    )
    description: str = Field(
        description="What the job found (the reference's text: the program may not be running, "
        "or the severe logs of the window)."
    )


TOPIC = "monitoring.failure.v1"
TOPIC_DOC = TopicDoc(
    TOPIC,
    key="the failure id",
    description="Failures as monitoring jobs open and close them: one event when a failure is detected, one when "
    "it is closed (next OK, job deactivated, unit retired); the notifier's e-mails and webhooks are sent from "
    "these events.",
)
DETECTED = "org.gridcommons.monitoring.failure.detected"
CLOSED = "org.gridcommons.monitoring.failure.closed"
PAYLOADS = {DETECTED: FailureV1, CLOSED: FailureV1}
