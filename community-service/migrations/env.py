# Every model module registers its tables on the metadata: autogenerate (and the drift check) sees them all.
from community_service.db import metadata  # the kernel tables register themselves via db.outbox
from community_service.registry import models as _registry  # noqa: F401
from community_service.scenarios import models as _scenarios  # noqa: F401
from gridcommons.migrations import run_env

run_env(metadata)
