"""The gateway schema, its outbox and its replica of the community registry (the form doors map a
device's ``communityId`` code to its company with it)."""

from gridcommons.community_replica import CommunityReplica
from gridcommons.db import schema_metadata
from gridcommons.outbox import Outbox

SCHEMA = "gateway"
metadata = schema_metadata(SCHEMA)
outbox = Outbox(metadata, source="/services/gateway")
community_replica = CommunityReplica(outbox, service="gateway")
