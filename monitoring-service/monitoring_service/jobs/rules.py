"""The six job types of seed 004 and what makes each NG (reference behaviour of the original service):

| type | granularity | NG when, in the look-back window (the type's interval) |
|---|---|---|
| apis_main_alive | per available unit | no apis-main INFO line starting `uri : ` of the unit, or a blocked-thread warning over the limit |
| apis_ccc_alive | per cluster | no apis-ccc INFO line starting `reporting unit data` and no fresh unit data of the cluster, or a blocked-thread warning over the limit |
| grid_master_alive | per cluster | no apis-main INFO line (any unit) starting `gridMasterUnitId : ` |
| apis_main_severe | per available unit | any apis-main SEVERE line of the unit |
| apis_ccc_severe | per cluster | any apis-ccc SEVERE line, except NO_HANDLERS/TIMEOUT on apis.GridMaster.data.all (GridMaster hand-over) |
| apis_log_severe | per cluster | any apis-log SEVERE line |
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from ..failures.events import JobType


@dataclass(frozen=True)
class Job:
    type: JobType
    per_unit: bool
    program_id: str  # the program whose lines are read
    failure_program: str | None  # the failure key's program_id
    alive_pattern: str | None = None  # alive jobs: the INFO line that proves life (regex)
    blocked_check: bool = False  # alive jobs: a blocked-thread warning over the limit is NG
    severe_exclude: str | None = None  # severe jobs: SEVERE lines matching this are expected, not NG
    strip_trailer: bool = False  # severe description: strip a trailing " [ ... ]" from messages

    @property
    def severe(self) -> bool:
        return self.alive_pattern is None


JOBS: dict[str, Job] = {
    j.type: j
    for j in (
        Job("apis_main_alive", True, "apis-main", "apis-main", alive_pattern="^uri : ", blocked_check=True),
        Job("apis_ccc_alive", False, "apis-ccc", "apis-ccc", alive_pattern="^reporting unit data", blocked_check=True),
        Job("grid_master_alive", False, "apis-main", None, alive_pattern="^gridMasterUnitId : "),
        Job("apis_main_severe", True, "apis-main", "apis-main", strip_trailer=True),
        Job(
            "apis_ccc_severe",
            False,
            "apis-ccc",
            "apis-ccc",
            severe_exclude="(NO_HANDLERS|TIMEOUT).* apis.GridMaster.data.all",
        ),
        Job("apis_log_severe", False, "apis-log", "apis-log"),
    )
}
JOB_TYPES: tuple[str, ...] = tuple(JOBS)  # the seed's fixed order

BLOCKED_LOGGER = "io.vertx.core.impl.BlockedThreadChecker"
BLOCKED_PATTERN = " has been blocked for ([0-9]+) ms"
ALIVE_DESCRIPTION = "The program may not be running."
GRID_MASTER_DESCRIPTION = "The GridMaster service may not be running."
SEVERE_HEADER = "There seems to be a problem."

_TRAILER = re.compile(r" \[[^\[]*\]\s*$")


def alive_description(job: Job) -> str:
    return GRID_MASTER_DESCRIPTION if job.type == "grid_master_alive" else ALIVE_DESCRIPTION


@dataclass(frozen=True)
class SevereLine:
    datetime: datetime
    loggername: str | None
    message: str | None


def severe_line(job: Job, line: SevereLine, tz: tzinfo) -> str:
    """``[<instant in the description's zone>] <message>``, the message prefixed by the failing part
    (Hazelcast: the clustering manager, Vert.x) and, for apis-main, without its trailing stack element."""
    message = line.message or ""
    if job.strip_trailer:
        message = _TRAILER.sub("", message)
    logger = line.loggername or ""
    if logger.startswith("com.hazelcast."):
        message = "Clustering Manager failure ; " + message
    elif logger.startswith("io.vertx."):
        message = "Vert.x failure ; " + message
    return f"[{line.datetime.astimezone(tz)}] {message}"


def severe_description(job: Job, lines: Sequence[SevereLine], total: int, tz: tzinfo) -> str:
    """The header, an empty line, then the window's SEVERE lines by time (at most ``len(lines)`` of
    ``total``; the rest counted on a last line)."""
    out = [SEVERE_HEADER, "", *(severe_line(job, line, tz) for line in lines)]
    if total > len(lines):
        out.append(f"... and {total - len(lines)} more")
    return "\n".join(out)


def blocked_too_long(message: str | None, limit_ms: int) -> bool:
    """Whether a blocked-thread warning says a thread was blocked for more than ``limit_ms`` (the
    reference computation of the SQL rule)."""
    if not message:
        return False
    m = re.search(BLOCKED_PATTERN, message)
    return m is not None and int(m.group(1)) > limit_ms
