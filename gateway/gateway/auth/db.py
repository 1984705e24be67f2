"""The gateway schema and its outbox."""

from gridcommons.db import schema_metadata
from gridcommons.outbox import Outbox

SCHEMA = "gateway"
metadata = schema_metadata(SCHEMA)
outbox = Outbox(metadata, source="/services/gateway")
