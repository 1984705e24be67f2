"""gridcommons.keys: one loader for every Ed25519 key, one failure behaviour: a configured key that is
missing, unreadable or invalid stops start-up with a message naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gridcommons.app import create_service_app
from gridcommons.identity import generate_ed25519_pem
from gridcommons.keys import KeyConfigError, ed25519_private_key, ed25519_public_key, public_pem, read_pem
from gridcommons.settings import InfraSettings, ServiceSettings

PRIVATE, PUBLIC = generate_ed25519_pem()


def test_text_wins_then_the_file_then_none(tmp_path: Path) -> None:
    file = tmp_path / "key.pem"
    file.write_text(PUBLIC)
    assert read_pem("K", "inline", file) == "inline"
    assert read_pem("K", None, file) == PUBLIC
    assert read_pem("K", None, None) is None
    assert public_pem(ed25519_public_key(PUBLIC, "K")) == PUBLIC
    assert public_pem(ed25519_private_key(PRIVATE, "K")) == PUBLIC


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", r"K_FILE=.*missing\.pem: cannot read the key file \(FileNotFoundError"),
        ("directory", r"K_FILE=.*: cannot read the key file \(IsADirectoryError"),
        ("empty", r"K_FILE=.*empty\.pem: the key file is empty"),
    ],
)
def test_a_configured_file_that_cannot_be_read(tmp_path: Path, kind: str, message: str) -> None:
    paths = {"missing": tmp_path / "missing.pem", "directory": tmp_path, "empty": tmp_path / "empty.pem"}
    paths["empty"].write_text("\n")
    with pytest.raises(KeyConfigError, match=message):
        read_pem("K", None, paths[kind])


def test_keys_that_are_not_what_the_setting_needs() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_private = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    ec_public = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(KeyConfigError, match="^K: not an unencrypted PEM private key"):
        ed25519_private_key("not a key", "K")
    with pytest.raises(KeyConfigError, match="^K: not an unencrypted PEM private key"):
        ed25519_private_key(PUBLIC, "K")  # a public key where the private one belongs
    with pytest.raises(KeyConfigError, match="^K: not a PEM public key"):
        ed25519_public_key(PRIVATE, "K")
    with pytest.raises(KeyConfigError, match="^K: must be an Ed25519 private key, got .*EC"):
        ed25519_private_key(ec_private, "K")
    with pytest.raises(KeyConfigError, match="^K: must be an Ed25519 public key, got .*EC"):
        ed25519_public_key(ec_public, "K")


async def test_a_service_does_not_start_with_a_missing_identity_key_file(tmp_path: Path) -> None:
    infra = InfraSettings(internal_identity_public_key=None, internal_identity_public_key_file=tmp_path / "gone.pem")
    app = create_service_app(
        name="keys-test", title="t", settings=ServiceSettings(infra=infra), routers=[], configure_logs=False
    )
    with pytest.raises(KeyConfigError, match="INTERNAL_IDENTITY_PUBLIC_KEY_FILE=.*gone.pem: cannot read"):
        async with app.router.lifespan_context(app):
            pass


async def test_the_gateway_does_not_start_with_a_missing_key_file(tmp_path: Path) -> None:
    """Before: a configured but missing file gave an ephemeral token key (tokens no other replica
    accepts) or no identity key (every proxied request a 503), with a warning only."""
    from gateway.auth.tokens import load_signing_key
    from gateway.edge import _identity_key
    from gateway.settings import GatewaySettings

    gone = tmp_path / "gone.pem"
    none = {"token_private_key": None, "internal_identity_private_key": None}  # whatever the environment says
    with pytest.raises(KeyConfigError, match="GATEWAY_TOKEN_PRIVATE_KEY_FILE=.*gone.pem: cannot read"):
        load_signing_key(GatewaySettings(**none, token_private_key_file=gone))
    with pytest.raises(KeyConfigError, match="GATEWAY_INTERNAL_IDENTITY_PRIVATE_KEY_FILE=.*gone.pem"):
        _identity_key(GatewaySettings(**none, internal_identity_private_key_file=gone))
    with pytest.raises(KeyConfigError, match="GATEWAY_TOKEN_PRIVATE_KEY: not an unencrypted PEM private key"):
        load_signing_key(GatewaySettings(token_private_key=PUBLIC))
    # Nothing configured: the development fallback (an ephemeral key, with a warning) stays.
    assert load_signing_key(GatewaySettings(**none, token_private_key_file=None)).public_key() is not None
