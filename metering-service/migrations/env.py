# Every model module registers its tables on the metadata: autogenerate (and the drift check) sees them all.
from gridcommons.migrations import run_env
from metering_service.db import metadata  # the kernel tables register themselves via db.outbox
from metering_service.imports import models as _imports  # noqa: F401
from metering_service.meters import models as _meters  # noqa: F401
from metering_service.readings import models as _readings  # noqa: F401
from metering_service.rollups import models as _rollups  # noqa: F401
from metering_service.series import models as _series  # noqa: F401
from metering_service.unit_data import models as _unit_data  # noqa: F401

run_env(metadata)
