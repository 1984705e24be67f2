"""Wire shapes of unit data: the document a unit reports (apis-ccc's ``unitData``), the ingestion batch
and its answer, and the documents the seed 004 endpoints return.

The document keeps every field the unit sends (its ``emu``, ``dcdc``... blocks differ between unit
models and firmware versions): only the fields the platform reads are typed and checked (the unit's
codes, ``time``, ``datasetId`` and the battery and APIS figures extracted into columns)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gridcommons.validation import SAFE_INTEGER_MAX, UtcInstant
from gridcommons.wire import WireModel

MAX_BATCH = 1_000  # documents per batch: a cluster's report of one instant, with room to spare
MAX_DOCUMENT_BYTES = 64 * 1024  # one document as JSON (a real one is about 2 KiB)
MAX_DEPTH = 16  # nesting of objects and arrays in a document
DATASET_ID_MAX = SAFE_INTEGER_MAX  # a JSON number every client holds exactly (epoch ms fit)

Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]

# Network identifiers of a unit: for operators only, never shown to residents.
NETWORK_FIELDS = ("ip", "ipv6_ll", "ipv6_g", "mac")


class _Open(BaseModel):
    # A block of the unit's document: fields beyond the typed ones are kept as sent.
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class OesUnit(_Open):
    """The unit's identity in the document (``oesunit``)."""

    communityId: Code = Field(description="Code of the unit's community in the registry.")
    clusterId: Code = Field(description="Code of the unit's cluster in the registry.")
    id: Code = Field(description="Code of the unit in the registry.")


class Battery(_Open):
    """The battery block (``battery``)."""

    rsoc: float | None = Field(default=None, description="Relative state of charge, in %.")


class OperationMode(_Open):
    """APIS operation modes (``apis.operation_mode``)."""

    effective: str | None = Field(
        default=None, max_length=64, description="The mode in force (e.g. autonomous, heteronomous, stop)."
    )


class Apis(_Open):
    """The APIS block (``apis``)."""

    remaining_capacity_wh: float | None = Field(default=None, description="Energy left in the battery, in Wh.")
    is_grid_master: bool | None = Field(default=None, description="Whether the unit runs the grid master.")
    operation_mode: OperationMode | None = Field(default=None, description="Global, local and effective modes.")


class UnitDataDocument(_Open):
    """One report of one unit (apis-ccc sends one per unit every 30 s); other fields are kept as sent."""

    oesunit: OesUnit = Field(description="The unit: its community, cluster and unit codes (and more).")
    time: UtcInstant = Field(description="When the unit took the measurements (ISO 8601 with an offset).")
    datasetId: int = Field(
        ge=0,
        le=DATASET_ID_MAX,
        description="Id of the report (epoch milliseconds of the report, the same for every unit of one "
        "report); 0 is a valid id. The same (unit, datasetId) again is ignored.",
    )
    emu: dict[str, Any] | None = Field(default=None, description="Power conditioner and battery measurements.")
    dcdc: dict[str, Any] | None = Field(default=None, description="DC/DC converter status, meter and settings.")
    battery: Battery | None = Field(default=None, description="Battery state.")
    apis: Apis | None = Field(default=None, description="APIS software state.")


EXAMPLE_DOCUMENT: dict[str, Any] = {
    "emu": {"charge_discharge_power": 299.2, "rsoc": 46.56, "battery_voltage": 52.1},
    "dcdc": {
        "status": {"status": "0x0000", "alarmState": "Light alarm", "operationMode": "Waiting"},
        "meter": {"wg": 0, "tmp": 26.59, "vb": 48, "wb": -4.5, "vg": 0, "ib": -0.09, "ig": 0},
    },
    "oesunit": {
        "communityId": "oss_community",
        "clusterId": "oss_cluster",
        "id": "E001",
        "display": "E001",
        "sn": "1",
        "budo": "1",
        "ip": "169.254.209.84",
        "ipv6_ll": "NA",
        "ipv6_g": "NA",
        "mac": "8c:85:90:b2:14:ef",
    },
    "time": "2026-11-24T03:41:38Z",
    "battery": {"rsoc": 46.56, "battery_operation_status": None},
    "apis": {
        "version": "3.0.0",
        "remaining_capacity_wh": 2234,
        "deal_interlock_capacity": 2,
        "is_grid_master": True,
        "operation_mode": {"global": "autonomous", "local": None, "effective": "autonomous"},
    },
    "datasetId": 1795923698143,
}


class IngestUnitDataRequest(WireModel):
    """A batch of unit data documents (e.g. one report of a cluster)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"unit_data": [EXAMPLE_DOCUMENT]}]})

    unit_data: list[UnitDataDocument] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1..{MAX_BATCH:,} documents, of any units of the company."
    )


class IngestUnitDataResponse(WireModel):
    """What a batch did."""

    received: int = Field(description="Documents in the batch.")
    written: int = Field(description="Documents stored (new (unit, datasetId) pairs).")
    unchanged: int = Field(description="Documents already stored (the same unit and datasetId): ignored.")


# ----------------------------------------------------------------------------- answers of the seed 004 reads
class OesUnitOut(_Open):
    """The unit's identity as stored; residents do not get the network identifiers (ip, ipv6_ll, ipv6_g, mac)."""

    communityId: str = Field(description="Code of the unit's community.")
    clusterId: str = Field(description="Code of the unit's cluster.")
    id: str = Field(description="Code of the unit.")


class UnitDataOut(_Open):
    """A stored document, as the unit sent it (with `time` in UTC); other fields are the unit's own."""

    oesunit: OesUnitOut = Field(description="The unit's identity.")
    time: datetime = Field(description="When the unit took the measurements (UTC).")
    datasetId: int = Field(description="Id of the report.")


def document_time(t: datetime) -> str:
    """``time`` as stored in a document: UTC with ``Z``, the fraction only when there is one."""
    text = t.isoformat().replace("+00:00", "Z")
    return text


__all__ = [
    "NETWORK_FIELDS",
    "IngestUnitDataRequest",
    "IngestUnitDataResponse",
    "UnitDataDocument",
    "UnitDataOut",
]
