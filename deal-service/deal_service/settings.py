from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class DealSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEAL_", extra="ignore")

    port: int = 8103
    # A deal is live while not deactivated and reported within this many seconds (devices re-report
    # every 30 s); without it a deal whose deactivation never arrived would stay live for good.
    live_window_seconds: int = Field(default=300, gt=0)
    # The most deals one list answers; past it the answer is cut and says so (X-Result-Truncated).
    list_max: int = Field(default=10_000, gt=0, le=100_000)
    # Downtime (deal_service.downtime): a gap between two unit data samples at least this long is a data
    # loss (down from the earlier sample); a unit silent this long is opened as down by the silence check.
    data_loss_tolerance_sec: int = Field(default=120, gt=0, le=86_400)
    # How often the silence check runs (one replica at a time: an advisory lock); 0 turns it off.
    downtime_check_interval_sec: float = Field(default=30.0, ge=0, le=3_600)
    # Samples (time, down) kept per unit to re-derive downtime when a late sample arrives; a sample older
    # than the unit's retained ones (its floor) is too late and is dropped.
    downtime_sample_retention_sec: int = Field(default=7 * 86_400, ge=3_600)


def load_settings() -> DealSettings:
    return DealSettings()
