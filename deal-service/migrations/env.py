from deal_service.db import metadata  # the kernel tables register themselves via db.outbox
from deal_service.deals import models as _deal_models  # noqa: F401  (registers the deals table)
from deal_service.downtime import models as _downtime_models  # noqa: F401  (registers the downtime tables)
from gridcommons.migrations import run_env

run_env(metadata)
