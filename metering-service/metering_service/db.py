"""The metering-service schema, its outbox and its replicas of the gateway's revocations and memberships."""

from gridcommons.db import schema_metadata
from gridcommons.outbox import Outbox
from gridcommons.replicas import Replicas

SCHEMA = "metering"
metadata = schema_metadata(SCHEMA)
outbox = Outbox(metadata, source="/services/metering-service")
replicas = Replicas(outbox, service="metering-service")
