"""The metering-service schema, its outbox, its replicas of the gateway's revocations and memberships, and
its replica of the community registry (the guards of gridcommons.community read it)."""

from gridcommons.community_replica import CommunityReplica
from gridcommons.db import schema_metadata
from gridcommons.outbox import Outbox
from gridcommons.replicas import Replicas

SCHEMA = "metering"
metadata = schema_metadata(SCHEMA)
outbox = Outbox(metadata, source="/services/metering-service")
replicas = Replicas(outbox, service="metering-service")
community_replica = CommunityReplica(outbox, service="metering-service")
