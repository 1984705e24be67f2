# Every model module registers its tables on the metadata: autogenerate (and the drift check) sees them all.
from asset_service.assets import models as _assets  # noqa: F401
from asset_service.db import metadata
from asset_service.dispatches import models as _dispatches  # noqa: F401
from asset_service.forecasts import models as _forecasts  # noqa: F401
from asset_service.limits import models as _limits  # noqa: F401
from asset_service.reservations import models as _reservations  # noqa: F401
from asset_service.sites import models as _sites  # noqa: F401
from asset_service.snapshots import models as _snapshots  # noqa: F401
from asset_service.specs import models as _specs  # noqa: F401
from asset_service.statuses import models as _statuses  # noqa: F401
from gridcommons.migrations import run_env

run_env(metadata)
