from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class AssetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ASSET_", extra="ignore")

    port: int = 8101


def load_settings() -> AssetSettings:
    return AssetSettings()
