"""Cached look-ups of iVvy's users and venues (small lists, read often)."""

from __future__ import annotations

import threading
import time
from typing import Any

from bridge.ivvy.client import IvvyClient

# A miss refreshes the cache, but not more often than this: a rule naming a
# user who does not exist must not turn every job into a full user listing.
_MIN_REFRESH_SECONDS = 30.0


class Directory:
    """Users (for assignees) and venues (for timezones), refreshed on a miss or when stale."""

    def __init__(self, ttl_seconds: float = 600.0) -> None:
        self.ttl = ttl_seconds
        self._users: list[dict[str, Any]] = []
        self._venues: dict[int, dict[str, Any]] = {}
        self._users_at = self._venues_at = -1e9
        self._lock = threading.Lock()

    def _fresh_users(self, client: IvvyClient, force: bool) -> list[dict[str, Any]]:
        age = time.monotonic() - self._users_at
        if age > self.ttl or (force and age > _MIN_REFRESH_SECONDS):
            self._users = client.get_user_list()
            self._users_at = time.monotonic()
        return self._users

    def user_id(self, client: IvvyClient, candidate: int | str) -> int | None:
        """The id of the user named by an id, an email or a full name; None when there is none."""
        if isinstance(candidate, int):
            return candidate
        text = str(candidate).strip()
        if text.isdigit():
            return int(text)
        with self._lock:
            for force in (False, True):
                found = _match_user(self._fresh_users(client, force), text)
                if found is not None:
                    return found
        return None

    def venue_timezone(self, client: IvvyClient, venue_id: int) -> str | None:
        """The venue's IANA timezone from getVenueList, or None when the venue is unknown."""
        with self._lock:
            stale = time.monotonic() - self._venues_at > self.ttl
            unknown = venue_id not in self._venues
            may_refresh = time.monotonic() - self._venues_at > _MIN_REFRESH_SECONDS
            if stale or (unknown and may_refresh):
                venues = client.get_venue_list()
                self._venues = {int(v["id"]): v for v in venues if "id" in v}
                self._venues_at = time.monotonic()
            venue = self._venues.get(venue_id)
        timezone = venue.get("timezone") if venue else None
        return str(timezone) if timezone else None


def _match_user(users: list[dict[str, Any]], text: str) -> int | None:
    wanted = text.casefold()
    matches = []
    for user in users:
        email = str(user.get("email") or "").casefold()
        full = " ".join(
            str(user.get(part) or "") for part in ("firstName", "lastName") if user.get(part)
        ).casefold()
        if wanted in (email, full):
            matches.append(user)
    # Prefer active users (currentStatus 1) when a name or email matches several.
    matches.sort(key=lambda u: 0 if str(u.get("currentStatus", 1)) == "1" else 1)
    return int(matches[0]["id"]) if matches else None
