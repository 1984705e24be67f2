from deal_service.db import metadata  # the kernel tables register themselves via db.outbox
from gridcommons.migrations import run_env

run_env(metadata)
