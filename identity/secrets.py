"""Secrets at rest: the gateway's master key, keyed hashes of inbound API keys, and encryption of the
secrets the gateway must use itself (outbound client secrets, HMAC signing secrets, JWT signing keys).

A database dump reveals none of them: an API key is stored as HMAC-SHA256 under a key derived from the
master key (so a dump cannot be brute-forced offline without the master key either), and a secret as
AES-256-GCM ciphertext under another derived key, bound to what it is for (the associated data), so a
ciphertext moved to another row or purpose does not decrypt.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CIPHERTEXT_PREFIX = "v1:"
MASTER_KEY_BYTES = 32


class SecretKeyError(Exception):
    """The master key is missing, unreadable or too short, or a ciphertext does not decrypt under it."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"booking-gateway " + purpose).derive(master)


def new_master_key() -> str:
    """A fresh master key, as GATEWAY_SECRET_KEY or the key file holds it (URL-safe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode()


def _decode_master(text: str, origin: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text.encode())
    except ValueError:
        raw = b""
    if len(raw) >= MASTER_KEY_BYTES:
        return raw
    # Any other string of enough entropy works too (a passphrase from a secret manager).
    if len(text) >= MASTER_KEY_BYTES:
        return text.encode()
    raise SecretKeyError(f"{origin}: the secret key must be at least {MASTER_KEY_BYTES} bytes (base64) or characters")


def _create_key_file(key_file: Path) -> None:
    """Write a fresh key beside the file, then link it into place: a process starting at the same moment reads
    either no file or the whole key (never an empty one), and the first link wins for both."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    draft = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_master_key() + "\n")
        with contextlib.suppress(FileExistsError):  # another process created it a moment ago: use theirs
            os.link(draft, key_file)
    finally:
        draft.unlink(missing_ok=True)


def load_master_key(value: str | None, key_file: Path) -> bytes:
    """The master key: the given value (GATEWAY_SECRET_KEY), else the key file, created (mode 0600) with a
    fresh key when it does not exist yet (the embedded default needs no configuration)."""
    if value:
        return _decode_master(value, "GATEWAY_SECRET_KEY")
    if not key_file.exists():
        _create_key_file(key_file)
    try:
        return _decode_master(key_file.read_text(), str(key_file))
    except OSError as error:
        raise SecretKeyError(f"{key_file}: cannot read the secret key ({error.strerror})") from error


class SecretBox:
    """Keyed hashes and authenticated encryption under one master key."""

    def __init__(self, master_key: bytes) -> None:
        self._hash_key = _derive(master_key, b"key hashes")
        self._cipher = AESGCM(_derive(master_key, b"secrets at rest"))

    def hash_key(self, api_key: str) -> str:
        """What is stored of an inbound API key: hex HMAC-SHA256 under the hash key."""
        return hmac.new(self._hash_key, api_key.encode(), hashlib.sha256).hexdigest()

    def key_matches(self, api_key: str, stored_hash: str) -> bool:
        """Constant-time comparison of a presented key with a stored hash."""
        return hmac.compare_digest(self.hash_key(api_key), stored_hash)

    def encrypt(self, plaintext: str, *, purpose: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._cipher.encrypt(nonce, plaintext.encode(), purpose.encode())
        return CIPHERTEXT_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, ciphertext: str, *, purpose: str) -> str:
        if not ciphertext.startswith(CIPHERTEXT_PREFIX):
            raise SecretKeyError("not a ciphertext of this gateway")
        raw = base64.urlsafe_b64decode(ciphertext[len(CIPHERTEXT_PREFIX) :].encode())
        try:
            return self._cipher.decrypt(raw[:12], raw[12:], purpose.encode()).decode()
        except InvalidTag as error:
            raise SecretKeyError(
                "a stored secret does not decrypt: GATEWAY_SECRET_KEY is not the key it was written with"
            ) from error


def new_api_key(prefix: str) -> str:
    """A fresh API key or secret: a readable prefix and 32 random bytes."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"
