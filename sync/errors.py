"""What the sync engine refuses; resolvers translate these into the API's error codes."""

from __future__ import annotations


class SyncError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownLocation(SyncError):
    """No location has that id."""


class SyncInProgress(SyncError):
    """A job for the location is already running (in this process or another sharing the database)."""

    def __init__(self, location_id: str, job_id: str | None) -> None:
        super().__init__(f"a sync job for {location_id} is already running" + (f" ({job_id})" if job_id else ""))
        self.location_id = location_id
        self.job_id = job_id


class NotPullable(SyncError):
    """The location cannot be asked for changes (it pushes them to us) or not for those entity types."""


class SyncJobNotFound(SyncError):
    """No sync job has that id."""


class JobStillRunning(SyncError):
    """A running job cannot be rolled back until it ends."""


class ConflictNotFound(SyncError):
    """No conflict has that id."""


class ConflictAlreadyResolved(SyncError):
    """The conflict was resolved already (by a strategy or a person)."""


class InvalidResolution(SyncError):
    """The resolution names no side and no data, or data the entity does not have."""
