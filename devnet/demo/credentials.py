"""The embedded demo's credentials: random, made on first start, kept in the credential store, and written
for people (and tests) to `settings.demo_credentials_file`.

The inbound keys are kept only as hashes, so the file is the one place they can be read: when it is
missing, or names a key the store no longer accepts, that location gets a fresh inbound key.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from identity.secrets import new_api_key
from sources.cache.models import Location
from sources.network.credentials import CredentialStore
from sources.network.model import INBOUND_API_KEY, REQUIRED_CREDENTIALS

DemoCredentials = dict[str, dict[str, str]]


def new_demo_credentials(kind: str) -> dict[str, str]:
    """Fresh random outbound credentials for a location of this kind (what its connector needs)."""
    return {name: new_api_key(f"demo_{name}") for name in REQUIRED_CREDENTIALS[kind]}


def write_demo_credentials(path: Path, admin_token: str, locations: Mapping[str, Mapping[str, str]]) -> None:
    """{"admin_token": ..., "locations": {id: {name: value}}}, mode 0600, replaced atomically: a reader never
    sees half a file, and the secrets are never readable by others, not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"admin_token": admin_token, "locations": {key: dict(value) for key, value in sorted(locations.items())}}
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o600)  # mkstemp makes it 0600 already; say so rather than rely on it
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_demo_credentials(path: Path) -> DemoCredentials:
    """The locations' credentials a previous start wrote, or nothing when the file is missing or unreadable."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        locations = body["locations"]
        return {str(key): {str(n): str(v) for n, v in value.items()} for key, value in locations.items()}
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return {}


async def ensure_demo_credentials(store: CredentialStore, path: Path) -> DemoCredentials:
    """Every active location's credentials, made (randomly) where the store has none; returns them all with
    each location's inbound key, ready for write_demo_credentials."""
    written = read_demo_credentials(path)
    result: DemoCredentials = {}
    async with store.writer.transaction() as session:
        locations = (
            await session.execute(select(Location.id, Location.kind).where(Location.retired_at.is_(None)))
        ).all()
        for location_id, kind in sorted(locations):
            current = await store.current_row(session, location_id)
            if current is None:
                outbound = new_demo_credentials(kind)
                inbound = new_api_key("demo_inbound")
                await store.add_generation(session, location_id, credentials=outbound, inbound_api_key=inbound)
                result[location_id] = {**outbound, INBOUND_API_KEY: inbound}
                continue
            outbound = store.decrypted(current)
            inbound = written.get(location_id, {}).get(INBOUND_API_KEY, "")
            if not (inbound and current.api_key_hash and store.box.key_matches(inbound, current.api_key_hash)):
                # Only the hash is stored: a key nobody can read any more is replaced at once (no grace).
                rotation = await store.rotate_inbound(session, location_id, grace=timedelta(0))
                inbound = rotation.api_key
            result[location_id] = {**outbound, INBOUND_API_KEY: inbound}
    return result
