from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class MeteringSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="METERING_", extra="ignore")

    port: int = 8102


def load_settings() -> MeteringSettings:
    return MeteringSettings()
