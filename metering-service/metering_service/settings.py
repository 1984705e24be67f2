from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings

from .modbus.settings import PollerSettings
from .readings.repository import WritePlan


class MeteringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="METERING_", extra="ignore")

    port: int = 8102
    # How an ingestion batch reaches the readings table (bench/README.md "metering_ingest" measures them):
    # COPY straight into it when the batch's time ranges hold no stored reading, else the upsert rule
    # fed by unnest arrays or by COPY into a temporary table.
    ingest_append_copy: bool = True
    ingest_write_path: Literal["unnest", "copy"] = "unnest"
    # Monthly (UTC) partitions of readings kept ready ahead of the current month by the worker.
    readings_partitions_ahead: int = Field(default=3, ge=0, le=120)
    # Drop partitions older than this many months before the current one; None (default): keep all.
    readings_retention_months: int | None = Field(default=None, ge=1)
    # How often the worker checks the partitions of readings and unit_data.
    readings_partition_interval_seconds: float = Field(default=3600.0, gt=0)
    # Unit data history (one report per unit every 30 s): monthly partitions kept ready ahead, and the days
    # kept (whole months are dropped once all their days are older; 0: keep everything).
    unit_data_partitions_ahead: int = Field(default=3, ge=0, le=120)
    unit_data_retention_days: int = Field(default=400, ge=0, le=36_500)
    # Kafka ingestion: messages of one fetch applied in one transaction and one statement.
    ingest_batch_messages: int = Field(default=200, ge=1, le=10_000)
    # Recompute the rollups of the days a batch wrote in the batch's own transaction (off: no rollups are
    # maintained; only for measuring what they cost the ingestion, bench/README.md "metering_rollups").
    rollups_inline: bool = True

    # Modbus TCP poller (metering_service.modbus.poller): off for processes that must not poll.
    modbus_poll: bool = True
    modbus_refresh_seconds: float = Field(default=15.0, gt=0)
    modbus_max_concurrent: int = Field(default=100, ge=1, le=10_000)
    modbus_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    modbus_backoff_max_seconds: float = Field(default=300.0, gt=0)
    modbus_max_hosts: int = Field(default=5000, ge=1)
    modbus_max_gap: int = Field(default=0, ge=0, le=124)

    def poller_settings(self) -> PollerSettings:
        return PollerSettings(
            refresh_seconds=self.modbus_refresh_seconds,
            max_concurrent=self.modbus_max_concurrent,
            timeout_seconds=self.modbus_timeout_seconds,
            backoff_max_seconds=self.modbus_backoff_max_seconds,
            max_hosts=self.modbus_max_hosts,
            max_gap=self.modbus_max_gap,
        )

    def write_plan(self) -> WritePlan:
        return WritePlan(merge=self.ingest_write_path, append_copy=self.ingest_append_copy, rollups=self.rollups_inline)


def load_settings() -> MeteringSettings:
    return MeteringSettings()
