"""Ed25519 keys for signing archive manifests: PEM files, PKCS8 for the private key.

The private key stays with whoever exports packages (the file is created with mode 0600);
the public key goes wherever packages are checked, kept apart from the packages themselves.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class KeyFileError(ValueError):
    """A key file that is not what it must be (not PEM, not Ed25519, encrypted)."""


def read_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key in PEM (PKCS8), as `cases keygen` writes it."""
    return private_key_from_pem(path.read_bytes(), str(path))


def private_key_from_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    """The same, given as text (a service's setting, e.g. AUDIT_SIGNING_KEY from a secret file)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise KeyFileError(f"{where} is encrypted; give an unencrypted PKCS8 key") from None
    except (ValueError, UnsupportedAlgorithm) as error:
        raise KeyFileError(f"{where} is not a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{where} is a {type(key).__name__}, not an Ed25519 private key")
    return key


def read_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key in PEM (SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, UnsupportedAlgorithm) as error:
        raise KeyFileError(f"{path} is not a PEM public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is a {type(key).__name__}, not an Ed25519 public key")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, in hex: names the key in a manifest."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def is_valid_signature(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def write_key_pair(private_path: Path, public_path: Path) -> Ed25519PublicKey:
    """A new key pair; neither file may exist already (FileExistsError), the private one is made 0600."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    if public_path.exists():
        raise FileExistsError(f"{public_path} exists")
    _write_new(private_path, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem, 0o644)
    except OSError:
        private_path.unlink()
        raise
    return key.public_key()


def _write_new(path: Path, content: bytes, mode: int) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as opened:
        os.fchmod(descriptor, mode)  # whatever the umask
        opened.write(content)
