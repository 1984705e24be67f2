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


def load_settings() -> DealSettings:
    return DealSettings()
