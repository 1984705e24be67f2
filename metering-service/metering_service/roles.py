"""Who may do what in metering-service: admin/operator manage series and read readings, a member reads the series
linked to their units (``series.access``), device only ingests."""

from typing import Annotated

from gridcommons.identity import TenantIdentity, require_roles

INGESTORS = ("admin", "operator", "device")  # the ingestion doors, HTTP and Kafka alike

Manager = Annotated[TenantIdentity, require_roles("admin", "operator")]
Ingestor = Annotated[TenantIdentity, require_roles(*INGESTORS)]
