from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class DealSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEAL_", extra="ignore")

    port: int = 8103


def load_settings() -> DealSettings:
    return DealSettings()
