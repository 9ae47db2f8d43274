"""The typed sections of a loaded configuration (frozen; built by ``bridge.config.schema``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from bridge.rules.calendar import BusinessCalendar


@dataclass(frozen=True)
class IvvySettings:
    """The iVvy account: where it is, how to sign, and the calendar for due dates."""

    base_url: str  # the API root, from base_url or the region's host
    key: str
    secret: str
    region: str | None = None  # AU | US | UK when given
    timezone: str = "UTC"  # IANA name; the default for due dates
    holiday_country: str | None = None  # ISO 3166 code understood by `holidays`
    holiday_subdivision: str | None = None
    closures: tuple[date, ...] = ()  # days the venue is closed (ranges expanded)
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    work_start: time = time(9, 0)
    work_end: time = time(17, 0)
    snap_to_working_hours: bool = False
    web_url: str | None = None  # the account's web address, for links into iVvy
    timeout_seconds: float = 20.0  # read timeout of one API call
    connect_timeout_seconds: float = 3.05

    @property
    def timeout(self) -> tuple[float, float]:
        """``(connect, read)`` as requests wants it."""
        return (self.connect_timeout_seconds, self.timeout_seconds)

    def calendar(self) -> BusinessCalendar:
        """The business calendar these settings describe; ValueError on a bad setting."""
        return BusinessCalendar(
            self.timezone,
            country=self.holiday_country,
            subdivision=self.holiday_subdivision,
            closures=self.closures,
            workdays=self.workdays,
            work_start=self.work_start,
            work_end=self.work_end,
            snap_to_working_hours=self.snap_to_working_hours,
        )

    def __repr__(self) -> str:
        return f"IvvySettings(base_url={self.base_url!r}, timezone={self.timezone!r})"


@dataclass(frozen=True)
class BackoffSettings:
    """Exponential backoff with jitter between attempts."""

    base_seconds: float = 2.0
    cap_seconds: float = 600.0


@dataclass(frozen=True)
class CircuitSettings:
    """After ``failures`` transient iVvy failures in a row, pause calls for ``cooldown_seconds``."""

    failures: int = 5
    cooldown_seconds: float = 30.0


@dataclass(frozen=True)
class DeliverySettings:
    """How the worker delivers jobs: attempts, age limit, backoff, leases, threads."""

    max_attempts: int = 8
    max_age: timedelta = timedelta(hours=24)
    backoff: BackoffSettings = BackoffSettings()
    lease_seconds: float = 60.0
    concurrency: int = 4
    circuit: CircuitSettings = CircuitSettings()


@dataclass(frozen=True)
class RetentionSettings:
    """How long stored rows are kept, in days."""

    events_days: int = 30
    jobs_days: int = 7
    dedupe_days: int = 30


@dataclass(frozen=True)
class SmtpSettings:
    """Where alert emails go out."""

    host: str
    sender: str  # `from` in the file
    to: tuple[str, ...]
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True

    def __repr__(self) -> str:
        return f"SmtpSettings(host={self.host!r}, port={self.port})"


@dataclass(frozen=True)
class AlertSettings:
    """When and where the bridge raises an alarm."""

    webhook_url: str | None = None
    smtp: SmtpSettings | None = None
    dead_job: bool = True  # alert when a job goes dead
    oldest_waiting_seconds: float = 600.0  # alert when the oldest ready job waited longer
    interval_seconds: float = 900.0  # at most one alert of a kind per interval

    @property
    def enabled(self) -> bool:
        """Whether any channel is configured."""
        return bool(self.webhook_url or self.smtp)

    def __repr__(self) -> str:
        return f"AlertSettings(enabled={self.enabled}, dead_job={self.dead_job})"


@dataclass(frozen=True)
class AdminSettings:
    """The admin API and status pages.  The token comes from BRIDGE_ADMIN_TOKEN, never the file.

    Nothing is configurable here yet; the section exists so that a token written
    into the file is refused with a message instead of being silently ignored.
    """
