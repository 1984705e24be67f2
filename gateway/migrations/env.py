from gateway.auth import models  # noqa: F401  (registers the tables)
from gateway.auth.db import metadata
from gridcommons.migrations import run_env

run_env(metadata)
