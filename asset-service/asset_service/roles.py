"""Who may do what in asset-service: admin/operator write, member reads, device only ingests."""

from typing import Annotated

from gridcommons.identity import TenantIdentity, require_roles

INGESTORS = ("admin", "operator", "device")  # the ingestion doors, HTTP and Kafka alike

Writer = Annotated[TenantIdentity, require_roles("admin", "operator")]
Reader = Annotated[TenantIdentity, require_roles("admin", "operator", "member")]
Ingestor = Annotated[TenantIdentity, require_roles(*INGESTORS)]
