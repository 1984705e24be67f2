from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings

from .notifications.addresses import check_address, check_time_zone


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

    # ---- notifications (monitoring-service/README.md "Notifications")
    # Recipients of a community without its own notify_to (JSON list); empty: such failures send no e-mail.
    default_notify_to: list[str] = Field(default_factory=list)
    notify_from: str = "monitoring@localhost"
    # Time zone of the e-mails' detected/closed lines for communities that set none (IANA name).
    notify_time_zone: str = "UTC"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    # none: plain SMTP; starttls: upgrade after EHLO (port 587); tls: TLS from the first byte (port 465).
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_password_file: Path | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Retries: attempt n failed -> next one after min(base * 2^(n-1), max) seconds; dead after max_attempts
    # (defaults: about a day of retries before a delivery is given up).
    notify_retry_base_seconds: float = Field(default=10.0, gt=0)
    notify_retry_max_seconds: float = Field(default=1800.0, gt=0)
    notify_max_attempts: int = Field(default=60, ge=1, le=1000)
    # A claimed delivery not marked within this many seconds (the sender died) is due again.
    notify_claim_seconds: float = Field(default=120.0, gt=0)
    # The dispatcher wakes on every new delivery (NOTIFY); it also looks for due retries this often.
    notify_poll_seconds: float = Field(default=1.0, gt=0)
    notify_batch_size: int = Field(default=50, ge=1, le=1000)

    @field_validator("default_notify_to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [check_address(v) for v in value]

    @field_validator("notify_from")
    @classmethod
    def _from(cls, value: str) -> str:
        return check_address(value)

    @field_validator("notify_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> "MonitoringSettings":
        # a claim that ends while its attempt still runs would let another replica send the same notification
        if self.notify_claim_seconds <= max(self.smtp_timeout_seconds, self.webhook_timeout_seconds):
            raise ValueError("notify_claim_seconds must exceed smtp_timeout_seconds and webhook_timeout_seconds")
        return self

    def smtp_secret(self) -> str | None:
        if self.smtp_password:
            return self.smtp_password
        if self.smtp_password_file:
            return self.smtp_password_file.read_text().strip()
        return None


def load_settings() -> MonitoringSettings:
    return MonitoringSettings()
