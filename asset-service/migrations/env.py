from asset_service.assets import models  # noqa: F401  (registers the tables)
from asset_service.db import metadata
from gridcommons.migrations import run_env

run_env(metadata)
