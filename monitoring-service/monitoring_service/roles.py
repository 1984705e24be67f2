"""Who may do what in monitoring-service: the staff views are guarded by gridcommons.community (staff =
admin or operator); the ingestion doors take admin, operator and device."""

from typing import Annotated

from gridcommons.identity import TenantIdentity, require_roles

INGESTORS = ("admin", "operator", "device")  # the ingestion doors, HTTP and Kafka alike

Ingestor = Annotated[TenantIdentity, require_roles(*INGESTORS)]
