from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class CommunitySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COMMUNITY_", extra="ignore")

    port: int = 8105


def load_settings() -> CommunitySettings:
    return CommunitySettings()
