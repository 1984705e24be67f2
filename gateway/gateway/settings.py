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
    # Upstream base URLs by registry name, e.g. GATEWAY_UPSTREAMS='{"asset-service": "http://10.0.0.5:8101"}'.
    # Each service's own variable GATEWAY_UPSTREAM_<NAME> (GATEWAY_UPSTREAM_ASSET_SERVICE) works too;
    # unset: http://127.0.0.1:<port from deploy/services.toml> (gateway.edge.upstreams).
    upstreams: dict[str, str] = {}
    # Edge (proxy) tuning. Timeouts in seconds; route_timeouts overrides the route table's value,
    # keyed by service name ("asset-service") or route prefix ("/api/staff/monitoring"),
    # e.g. GATEWAY_ROUTE_TIMEOUTS='{"deal-service": 2}'.
    upstream_connect_timeout: float = 3.0
    route_timeouts: dict[str, float] = {}
    upstream_pool_size: int = 100
    # Below uvicorn's 5 s keep-alive so the gateway never reuses a socket the upstream is closing.
    upstream_keepalive_seconds: float = 4.0
    # Default request budget of a machine client (requests per minute, token bucket, per gateway process).
    machine_client_budget_per_minute: int = 600
    # How long the merged OpenAPI document is cached (an upstream that is down keeps its last copy).
    openapi_cache_seconds: float = 60.0
    # Optional platform superuser created at start-up: "username:password".
    bootstrap_superuser: str | None = None

    # --- identity and auth (gateway/gateway/auth; see gateway/README.md "Identity and auth") ---
    token_issuer: str = "gridcommons-gateway"
    token_audience: str = "gridcommons-api"
    # Token lifetimes (gateway README "Token lifetimes").
    access_token_ttl_seconds: int = 3600  # /auth/register, /auth/login, /auth/token
    refresh_token_ttl_seconds: int = 1_209_600  # /auth/token refresh tokens (each rotation starts a new 14 days)
    session_token_ttl_seconds: int = 1_209_600  # /api/core/login (Django's SESSION_COOKIE_AGE)
    invitation_ttl_seconds: int = 604_800  # company invitations expire after 7 days
    allow_registration: bool = True  # open POST /auth/register (seed 001)
    registrations_per_address: int = 10  # POST /auth/register calls per address and window (429 beyond)
    registration_window_seconds: int = 3600
    # Concurrent Argon2 hash/verify operations per process (0: half the CPUs, at least 1); the
    # rest wait their turn, so bogus logins cannot take every core from the other requests.
    password_hash_concurrency: int = 0
    # Failed-login limits, sliding window, per gateway replica (429 + Retry-After). An "account" is a
    # username or a machine client id. Per (account, address) and per address they refuse every
    # attempt; per account they refuse only addresses that have not logged in to it successfully in
    # the last login_known_address_seconds (the owner's known-good addresses keep working).
    login_failures_per_account_address: int = 10
    login_failures_per_address: int = 30
    login_failures_per_account: int = 10
    login_failure_window_seconds: int = 300
    login_known_address_seconds: int = 2_592_000
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto the gateway believes (IP addresses or CIDR
    # networks, e.g. '["10.0.0.0/8"]'); the client address is the right-most hop that is not one of
    # them. Default none: the TCP peer is the client. Start uvicorn with --no-proxy-headers.
    trusted_proxies: list[str] = []
    cookie_secure: bool = False  # Secure flag on the sessionid / csrftoken cookies (set it behind HTTPS)
    # Revocation / membership caches: fallback poll period, overlap window, size, ceiling on entry life.
    auth_sync_poll_seconds: float = 1.0
    auth_sync_overlap_seconds: float = 30.0
    auth_cache_size: int = 100_000
    auth_cache_max_age_seconds: float = 300.0


def load_settings() -> GatewaySettings:
    return GatewaySettings()
