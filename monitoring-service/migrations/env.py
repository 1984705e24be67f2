# Every model module registers its tables on the metadata: autogenerate (and the drift check) sees them all.
from gridcommons.migrations import run_env
from monitoring_service.db import metadata  # the kernel tables register themselves via db.outbox
from monitoring_service.failures import models as _failures  # noqa: F401
from monitoring_service.jobs import models as _jobs  # noqa: F401
from monitoring_service.logs import models as _logs  # noqa: F401
from monitoring_service.notifications import models as _notification_models  # noqa: F401  (registers its tables)

run_env(metadata)
