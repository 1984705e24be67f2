from gridcommons.migrations import run_env
from metering_service.db import metadata  # the kernel tables register themselves via db.outbox

run_env(metadata)
