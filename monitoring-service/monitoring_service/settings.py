from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class MonitoringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_", extra="ignore")

    port: int = 8104


def load_settings() -> MonitoringSettings:
    return MonitoringSettings()
