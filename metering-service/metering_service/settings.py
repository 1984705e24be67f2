from gridcommons.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class MeteringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="METERING_", extra="ignore")

    port: int = 8102


def load_settings() -> MeteringSettings:
    return MeteringSettings()
