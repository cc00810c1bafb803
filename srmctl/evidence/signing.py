"""Ed25519 keys for signing evidence packs (see docs/architecture.md, "Evidence"): reading them from the files
operators already have (``openssl genpkey -algorithm ed25519`` PEM, or ``ssh-keygen -t ed25519``), their
fingerprint as ``ssh-keygen -l`` prints it, and the signature over a pack's manifest.

A private key file readable by anyone but its owner is refused, as ssh refuses one: a signature is worth what
the key's secrecy is worth."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from srmctl.errors import UsageError

ALGORITHM = "Ed25519"
MAX_KEY_BYTES = 64 * 1024


class KeyUnusable(UsageError):
    """A key file that cannot be used (missing, not Ed25519, encrypted, too open). Exit 2."""

    code = "key_unusable"


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_KEY_BYTES + 1)
    except OSError as error:
        raise KeyUnusable(f"{path}: cannot read the key: {error.strerror or error}") from None
    if len(raw) > MAX_KEY_BYTES:
        raise KeyUnusable(f"{path}: larger than {MAX_KEY_BYTES} bytes, not a key")
    return raw


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key (PEM/PKCS#8 or OpenSSH) from a file only its owner can read."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise KeyUnusable(f"{path}: cannot read the key: {error.strerror or error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnusable(
            f"{path}: private key is accessible by others (mode {stat.S_IMODE(mode):04o}); run 'chmod 600 {path}'"
        )
    raw = _read(path)
    key: object = None
    for loader in (serialization.load_pem_private_key, serialization.load_ssh_private_key):
        try:
            key = loader(raw, password=None)
            break
        except TypeError:  # encrypted: the loaders say a password is needed
            raise KeyUnusable(f"{path}: the key is encrypted; use an unencrypted key kept mode 0600") from None
        except (ValueError, UnsupportedAlgorithm):
            continue
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyUnusable(
            f"{path}: not an Ed25519 private key (PEM or OpenSSH; e.g. 'openssl genpkey -algorithm ed25519 -out KEY')"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key: PEM (``openssl pkey -pubout``) or an OpenSSH ``ssh-ed25519 ...`` line."""
    raw = _read(path)
    key: object = None
    for loader in (serialization.load_pem_public_key, serialization.load_ssh_public_key):
        try:
            key = loader(raw)
            break
        except (ValueError, UnsupportedAlgorithm):
            continue
    if not isinstance(key, Ed25519PublicKey):
        raise KeyUnusable(f"{path}: not an Ed25519 public key (PEM or an OpenSSH 'ssh-ed25519' line)")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_from_raw(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:...`` over the key's OpenSSH encoding: what ``ssh-keygen -lf KEY.pub`` prints for it."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def verifies(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
