"""Who may do what in deal-service: the views are guarded by gridcommons.community (staff = admin or
operator, residents = members linked to a unit); the ingestion doors take admin, operator and device."""

from typing import Annotated

from gridcommons.identity import TenantIdentity, require_roles

INGESTORS = ("admin", "operator", "device")  # the ingestion doors, HTTP and Kafka alike

Ingestor = Annotated[TenantIdentity, require_roles(*INGESTORS)]
