from pathlib import Path

from pydantic_settings import SettingsConfigDict

from gridcommons.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    port: int = 8000
    # Ed25519 private keys (PEM), inline or from files: one signs bearer tokens (published in
    # the JWKS), one signs the internal identity forwarded to services.
    token_private_key: str | None = None
    token_private_key_file: Path | None = None
    internal_identity_private_key: str | None = None
    internal_identity_private_key_file: Path | None = None
    # Upstream base URLs, e.g. GATEWAY_UPSTREAM_ASSET_SERVICE=http://127.0.0.1:8101 (defaults from deploy/services.toml).
    # Optional platform superuser created at start-up: "username:password".
    bootstrap_superuser: str | None = None


def load_settings() -> GatewaySettings:
    return GatewaySettings()
