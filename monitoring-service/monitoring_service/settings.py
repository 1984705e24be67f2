from gridcommons.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class MonitoringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_", extra="ignore")

    port: int = 8104


def load_settings() -> MonitoringSettings:
    return MonitoringSettings()
