"""The signed iVvy API client: one ``call`` plus typed helpers for the CRM actions we use.

The client never retries, except once after a "request is stale" answer (re-signed with a
fresh date): the job queue owns retries and backoff, driven by ``IvvyError.retryable``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from bridge.clock import utc_now
from bridge.ivvy.auth import IvvyAuth
from bridge.ivvy.errors import STALE_REQUEST, IvvyError
from bridge.ivvy.responses import TRANSPORT_FAILURES, interpret_response, transport_error

log = logging.getLogger(__name__)

REGION_BASE_URLS = {
    "AU": "https://api.ap-southeast-2.ivvy.com",
    "US": "https://api.us-west-2.ivvy.com",
    "UK": "https://api.eu-west-2.ivvy.com",
}
DEFAULT_TIMEOUT = (3.05, 20.0)


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, for the attempt log (no bodies, no credentials)."""

    namespace: str
    action: str
    status: int | None
    duration_ms: float
    error: str | None
    started_at: datetime


def base_url_for(region: str | None, base_url: str | None) -> str:
    """The API root: an explicit base URL wins, else the region's host."""
    if base_url:
        return base_url.rstrip("/")
    if region is None:
        raise ValueError("either an iVvy region (AU, US, UK) or a base URL is required")
    try:
        return REGION_BASE_URLS[region.upper()]
    except KeyError:
        known = ", ".join(REGION_BASE_URLS)
        raise ValueError(f"unknown iVvy region {region!r}; expected one of {known}") from None


def encode_body(body: dict[str, Any] | None) -> bytes:
    """Compact UTF-8 JSON, serialised once; no body at all is the empty string."""
    if body is None:
        return b""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def created_id(result: Any, *, namespace: str, action: str) -> int:
    """The ``id`` from an add-or-update answer (``{"success": true, "id": 755}``)."""
    if isinstance(result, dict):
        if result.get("success") is False:
            message = result.get("message")
            raise IvvyError(
                str(message) if message else "iVvy answered success: false",
                retryable=False,
                namespace=namespace,
                action=action,
            )
        found = result.get("id")
        if isinstance(found, int) and not isinstance(found, bool):
            return found
        if isinstance(found, str) and found.isdigit():
            return int(found)
    # A write answered without an id: it may have happened, and we cannot tell which record.
    raise IvvyError(
        "answer has no record id",
        retryable=True,
        maybe_committed=True,
        namespace=namespace,
        action=action,
    )


def _same_text(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.strip().casefold() == b.strip().casefold()


def _session_for(base_url: str) -> requests.Session:
    """A session with the environment's proxy and CA-bundle settings for ``base_url`` read once.

    By default requests reads them again on every request (scanning ``os.environ``,
    ~1 ms per call, a third of a job's CPU in the drain profile).  Every call goes to
    the one base URL, so one reading, taken here, gives the same answer.
    """
    session = requests.Session()
    settings = session.merge_environment_settings(base_url, {}, None, None, None)
    session.proxies.update(settings["proxies"])
    session.verify = settings["verify"]
    session.trust_env = False
    return session


class IvvyClient:
    """Signed JSON-over-POST calls to one iVvy account."""

    def __init__(
        self,
        key: str,
        secret: str,
        *,
        region: str | None = "AU",
        base_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.base_url = base_url_for(region, base_url)
        self.timeout = timeout
        self._clock = clock or utc_now
        self._auth = IvvyAuth(key, secret, clock=self._clock)
        self._owns_session = session is None
        self._session = session or _session_for(self.base_url)
        self._on_call = on_call

    def __repr__(self) -> str:
        return f"IvvyClient(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the HTTP session if the client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> IvvyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def call(self, namespace: str, action: str, body: dict[str, Any] | None = None) -> Any:
        """POST one action and return its parsed JSON answer; raises IvvyError on failure."""
        data = encode_body(body)
        try:
            return self._attempt(namespace, action, data)
        except IvvyError as error:
            if error.specific_code != STALE_REQUEST:
                raise
        # Our clock or a slow queue made the signature stale: sign afresh, once.
        return self._attempt(namespace, action, data)

    def _attempt(self, namespace: str, action: str, data: bytes) -> Any:
        url = f"{self.base_url}/api/1.0/{namespace}?action={action}"
        started_at = self._clock()
        started = time.monotonic()
        status: int | None = None
        try:
            try:
                # session.request prepares the request, which runs IvvyAuth: a fresh signature.
                response = self._session.request(
                    "POST",
                    url,
                    data=data,
                    auth=self._auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except TRANSPORT_FAILURES as exc:
                raise transport_error(exc, namespace=namespace, action=action) from None
            status = response.status_code
            result = interpret_response(
                response, namespace=namespace, action=action, now=self._clock()
            )
        except IvvyError as error:
            self._record(namespace, action, status, started, str(error), started_at)
            raise
        self._record(namespace, action, status, started, None, started_at)
        return result

    def _record(
        self,
        namespace: str,
        action: str,
        status: int | None,
        started: float,
        error: str | None,
        started_at: datetime,
    ) -> None:
        if self._on_call is None:
            return
        duration_ms = (time.monotonic() - started) * 1000.0
        record = CallRecord(namespace, action, status, duration_ms, error, started_at)
        try:
            self._on_call(record)
        except Exception:
            # The attempt log must not turn a completed call into a failed (and retried) one.
            log.exception("ivvy_on_call_failed", extra={"namespace": namespace, "action": action})

    def iter_collection(
        self,
        namespace: str,
        action: str,
        body: dict[str, Any] | None = None,
        per_page: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection action, fetching page after page."""
        start = 0
        while True:
            page_body = {**(body or {}), "perPage": per_page, "start": start}
            page = self.call(namespace, action, page_body)
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise IvvyError(
                    "answer is not a collection",
                    retryable=False,
                    namespace=namespace,
                    action=action,
                )
            results = page["results"]
            yield from results
            meta = page.get("meta")
            count = meta.get("count") if isinstance(meta, dict) else None
            total = meta.get("totalResults") if isinstance(meta, dict) else None
            if not isinstance(count, int) or not isinstance(total, int):
                # Without usable meta, a page is taken as the whole collection.
                count, total = len(results), start + len(results)
            if count == 0 or start + count >= total:
                return
            start += count

    def _list(
        self, namespace: str, action: str, filter: dict[str, Any] | None, **extra: Any
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
        if filter:
            body["filter"] = filter
        return list(self.iter_collection(namespace, action, body))

    def ping(self) -> dict[str, Any]:
        """``test?action=ping``: checks keys and clock; answers ``{"ack": "<server time>"}``."""
        result = self.call("test", "ping")
        if not isinstance(result, dict):
            raise IvvyError("ping answer is not an object", namespace="test", action="ping")
        return result

    def add_or_update_task(self, fields: dict[str, Any]) -> int:
        """Create (no ``id``) or update a CRM task; returns its id."""
        result = self.call("crm", "addOrUpdateTask", fields)
        return created_id(result, namespace="crm", action="addOrUpdateTask")

    def get_task_list(
        self, filter: dict[str, Any] | None = None, venue_id: int | None = None
    ) -> list[dict[str, Any]]:
        """All tasks matching the filter (optionally of one venue)."""
        return self._list("crm", "getTaskList", filter, venueId=venue_id)

    def get_contact_list(self, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All contacts matching the filter."""
        return self._list("contact", "getContactList", filter)

    def find_contacts_by_email(self, email: str) -> list[dict[str, Any]]:
        """Contacts whose e-mail equals ``email``, compared case-insensitively."""
        found = self.get_contact_list({"email": email.strip()})
        return [c for c in found if _same_text(c.get("email"), email)]

    def add_or_update_contact(self, fields: dict[str, Any]) -> int:
        """Create (no ``id``) or update a contact; returns its id."""
        result = self.call("contact", "addOrUpdateContact", fields)
        return created_id(result, namespace="contact", action="addOrUpdateContact")

    def add_or_update_lead(self, fields: dict[str, Any]) -> int:
        """Create (no ``id``) or update a lead (in the contact namespace); returns its id."""
        result = self.call("contact", "addOrUpdateLead", fields)
        return created_id(result, namespace="contact", action="addOrUpdateLead")

    def get_lead_list(self, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All leads matching the filter."""
        return self._list("crm", "getLeadList", filter)

    def get_opportunity_list(self, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All opportunities matching the filter."""
        return self._list("crm", "getOpportunityList", filter)

    def get_company_list(self, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All companies matching the filter."""
        return self._list("contact", "getCompanyList", filter)

    def find_companies_by_name(self, name: str) -> list[dict[str, Any]]:
        """Companies whose business name equals ``name``, compared case-insensitively."""
        found = self.get_company_list({"businessName": name.strip()})
        return [c for c in found if _same_text(c.get("businessName"), name)]

    def get_user_list(self, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All account users matching the filter."""
        return self._list("account", "getUserList", filter)

    def get_venue_list(self, filter: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """All venues matching the filter."""
        return self._list("venue", "getVenueList", filter)
