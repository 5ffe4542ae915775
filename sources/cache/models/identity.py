"""Credentials at rest: the gateway's JWT signing keys and every location's credentials.

Nothing here is a secret in the clear: inbound API keys are keyed hashes, secrets are AES-GCM ciphertexts
under the master key (identity/secrets.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sources.cache.models.base import Base
from sources.cache.types import UTCDateTime, utc_now


class SigningKey(Base):
    """An HS256 key the gateway signs tokens with. The newest is current; a rotated-out key is still
    accepted until `retires_at` (the grace period), then refused."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(10), default="HS256")
    secret: Mapped[str] = mapped_column(Text)  # ciphertext
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    retires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LocationCredential(Base):
    """One generation of a location's credentials. A rotation adds a row and gives the previous one an
    `expires_at` (the grace period); a row with no `expires_at` is current."""

    __tablename__ = "location_credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    # Keyed hash of the API key the location presents to the gateway (X-API-Key, handshake api_key).
    api_key_hash: Mapped[str | None] = mapped_column(String(64))
    # Ciphertext of a JSON object: the secrets the gateway itself uses with this location (api_secret,
    # client_secret, webhook_secret, ...).
    secrets: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_location_credentials_api_key_hash", "api_key_hash"),)
