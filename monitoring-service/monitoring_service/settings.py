from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class MonitoringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_", extra="ignore")

    port: int = 8104

    # ---- jobs (seed 004 MONITORING settings)
    # Whether the worker runs the job passes (off only for tests that run passes themselves).
    jobs_enabled: bool = True
    initial_wait_seconds: float = Field(default=5.0, ge=0)
    # Interval of each job type's passes, also its look-back window on the logs.
    apis_main_alive_interval_seconds: int = Field(default=60, gt=0, le=86_400)
    apis_ccc_alive_interval_seconds: int = Field(default=60, gt=0, le=86_400)
    grid_master_alive_interval_seconds: int = Field(default=60, gt=0, le=86_400)
    apis_main_severe_interval_seconds: int = Field(default=60, gt=0, le=86_400)
    apis_ccc_severe_interval_seconds: int = Field(default=60, gt=0, le=86_400)
    apis_log_severe_interval_seconds: int = Field(default=60, gt=0, le=86_400)
    # A Vert.x blocked-thread warning above this many milliseconds makes an alive job NG.
    thread_blocking_limit_ms: int = Field(default=300_000, gt=0)
    # Whether a cluster without a job setting row runs the job (the original: off; here: on).
    jobs_active_by_default: bool = True
    # Time zone of the instants written in severe descriptions (IANA name).
    description_timezone: str = "UTC"
    # At most this many log lines in a severe failure's description (the rest counted).
    description_max_lines: int = Field(default=100, gt=0, le=10_000)

    # ---- logs
    log_retention_days: int = Field(default=365, gt=0, le=36_500)
    log_partitions_ahead_days: int = Field(default=7, ge=1, le=366)
    # A log record dated more than this far in the future is refused (a wrong clock).
    log_future_tolerance_seconds: int = Field(default=86_400, ge=0)

    # ---- lists
    failure_list_max: int = Field(default=10_000, gt=0, le=100_000)

    def interval_seconds(self, job_type: str) -> int:
        value: int = getattr(self, f"{job_type}_interval_seconds")
        return value


def load_settings() -> MonitoringSettings:
    return MonitoringSettings()
