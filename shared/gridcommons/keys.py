"""Ed25519 keys from configuration: one loader, one failure behaviour.

A key is configured as PEM text (``<NAME>``) or as a file (``<NAME>_FILE``); the text wins. Not
configured at all is ``None`` (each caller says what that means: 401 for every request, an
ephemeral development key, ...). Configured but unusable stops start-up with ``KeyConfigError``
naming the setting and the reason: a file that is missing or unreadable, text that is not PEM, a
key that is not Ed25519, a public key where a private one belongs (or the other way round).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class KeyConfigError(RuntimeError):
    """A configured key cannot be used: start-up stops with this message."""


def read_pem(setting: str, value: str | None, file: Path | None) -> str | None:
    """The PEM text of ``setting``: ``value``, else the content of ``file``, else None."""
    if value:
        return value
    if file is None:
        return None
    try:
        text = file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyConfigError(
            f"{setting}_FILE={file}: cannot read the key file ({exc.__class__.__name__}: {exc})"
        ) from None
    if not text.strip():
        raise KeyConfigError(f"{setting}_FILE={file}: the key file is empty")
    return text


def ed25519_private_key(pem: str, setting: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``pem`` (unencrypted PKCS#8); ``KeyConfigError`` otherwise."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise KeyConfigError(f"{setting}: not an unencrypted PEM private key ({_reason(exc)})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyConfigError(f"{setting}: must be an Ed25519 private key, got {type(key).__name__}")
    return key


def ed25519_public_key(pem: str, setting: str) -> Ed25519PublicKey:
    """The Ed25519 public key in ``pem`` (SubjectPublicKeyInfo); ``KeyConfigError`` otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnicodeError) as exc:
        raise KeyConfigError(f"{setting}: not a PEM public key ({_reason(exc)})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyConfigError(f"{setting}: must be an Ed25519 public key, got {type(key).__name__}")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half of ``key`` as PEM (SubjectPublicKeyInfo)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__
