from gridcommons.migrations import run_env
from monitoring_service.db import metadata  # the kernel tables register themselves via db.outbox
from monitoring_service.notifications import models as _notification_models  # noqa: F401  (registers its tables)

run_env(metadata)
