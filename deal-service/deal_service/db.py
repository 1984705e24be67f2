"""The deal-service schema, its outbox, its replicas of the gateway's revocations and memberships, and its
replica of the community registry (the guards of gridcommons.community read it)."""

from gridcommons.community_replica import CommunityReplica
from gridcommons.db import schema_metadata
from gridcommons.outbox import Outbox
from gridcommons.replicas import Replicas

SCHEMA = "deal"
metadata = schema_metadata(SCHEMA)
outbox = Outbox(metadata, source="/services/deal-service")
replicas = Replicas(outbox, service="deal-service")
community_replica = CommunityReplica(outbox, service="deal-service")
