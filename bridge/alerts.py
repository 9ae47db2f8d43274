"""Alerts: a Slack-compatible webhook and/or email when jobs die or the queue waits too long.

A watch thread in each worker process reads the database every ``every``
seconds, so jobs that died anywhere (a give-up, a poisoned job) are seen.
At most one alert per condition per ``alerts.interval_seconds``; the limit is
kept per process (with several worker processes, each may alert once per
interval).  Alert text goes through the log redactor: no emails, phone
numbers or secrets reach a chat channel.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING

import requests
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bridge.config import AlertSettings
from bridge.logs import Redactor
from bridge.store.queries import jobs_died, queue_stats

if TYPE_CHECKING:
    from bridge.runtime import Runtime

log = logging.getLogger(__name__)
DEAD_JOB = "dead_job"
OLDEST_WAITING = "oldest_waiting"
_LISTED = 5  # dead jobs named in one alert; the rest are counted


class AlertGate:
    """At most one alert per condition per interval; safe across threads."""

    def __init__(self, interval_seconds: float) -> None:
        self.interval = timedelta(seconds=interval_seconds)
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def admit(self, condition: str, now: datetime) -> bool:
        """True (and the interval starts again) when ``condition`` may alert at ``now``."""
        with self._lock:
            last = self._last.get(condition)
            if last is not None and now - last < self.interval:
                return False
            self._last[condition] = now
            return True


class AlertSender:
    """Delivers an alert to every configured channel; failures are logged, never raised."""

    def __init__(
        self,
        settings: AlertSettings,
        redactor: Redactor,
        *,
        timeout: tuple[float, float] = (3.05, 10.0),
    ) -> None:
        self.settings = settings
        self.redactor = redactor
        self.timeout = timeout

    def send(self, subject: str, text: str) -> list[str]:
        """Send to the webhook and/or by email; returns the channels that took it."""
        subject, text = self.redactor(subject), self.redactor(text)
        delivered = []
        if self.settings.webhook_url and self._post(subject, text):
            delivered.append("webhook")
        if self.settings.smtp is not None and self._mail(subject, text):
            delivered.append("email")
        return delivered

    def _post(self, subject: str, text: str) -> bool:
        url = self.settings.webhook_url or ""
        try:
            response = requests.post(
                url, json={"text": f"*{subject}*\n{text}"}, timeout=self.timeout
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            log.warning("alert webhook failed", extra={"error_type": type(exc).__name__})
            return False
        return True

    def _mail(self, subject: str, text: str) -> bool:
        smtp = self.settings.smtp
        assert smtp is not None
        message = EmailMessage()
        message["Subject"] = f"[iVvy bridge] {subject}"
        message["From"] = smtp.sender
        message["To"] = ", ".join(smtp.to)
        message.set_content(text)
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout[1]) as client:
                if smtp.starttls:
                    client.starttls(context=ssl.create_default_context())
                if smtp.username:
                    client.login(smtp.username, smtp.password or "")
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("alert email failed", extra={"error_type": type(exc).__name__})
            return False
        return True


@dataclass
class AlertWatch:
    """Looks at the database and raises the alerts that are due at ``now``."""

    engine: Engine
    settings: AlertSettings
    sender: AlertSender
    since: datetime  # jobs that died before this are not news
    gate: AlertGate = field(init=False)
    _pending_dead: list[tuple[str, str]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.gate = AlertGate(self.settings.interval_seconds)

    def check(self, now: datetime) -> list[str]:
        """Alert on new dead jobs and on a queue waiting too long; returns the conditions sent."""
        sent = []
        if self.settings.dead_job:
            self._collect_dead(now)
            if self._pending_dead and self.gate.admit(DEAD_JOB, now):
                self.sender.send(*self._dead_message())
                self._pending_dead.clear()
                sent.append(DEAD_JOB)
        oldest = queue_stats(self.engine, now=now)["oldest_waiting_seconds"]
        limit = self.settings.oldest_waiting_seconds
        if oldest is not None and oldest > limit and self.gate.admit(OLDEST_WAITING, now):
            self.sender.send(
                "jobs are waiting too long",
                f"The oldest waiting job has waited {int(oldest)} s (the limit is {int(limit)} s). "
                "Is a worker running, and can it reach iVvy and the database?",
            )
            sent.append(OLDEST_WAITING)
        return sent

    def _collect_dead(self, now: datetime) -> None:
        rows = jobs_died(self.engine, after=self.since, until=now)
        for event_id, reason, finished_at, source in rows:
            self._pending_dead.append((event_id, f"{source}: {reason or 'no reason recorded'}"))
            self.since = max(self.since, finished_at)

    def _dead_message(self) -> tuple[str, str]:
        count = len(self._pending_dead)
        lines = [
            f"- {event_id} ({reason[:300]})" for event_id, reason in self._pending_dead[:_LISTED]
        ]
        if count > _LISTED:
            lines.append(f"- and {count - _LISTED} more")
        subject = "a job died" if count == 1 else f"{count} jobs died"
        return subject, "Replay them once the cause is fixed:\n" + "\n".join(lines)

    def run(self, clock: Callable[[], datetime], stopping: threading.Event, every: float) -> None:
        """Check every ``every`` seconds until ``stopping`` is set."""
        while not stopping.wait(every):
            try:
                self.check(clock())
            except SQLAlchemyError as exc:
                log.warning("alert check failed", extra={"error_type": type(exc).__name__})


def start_alert_watch(
    runtime: Runtime, stopping: threading.Event, *, every: float | None = None
) -> threading.Thread | None:
    """Start the watch thread of this worker process; None when no alert channel is configured.

    It looks a few times per alert interval (at most every 30 s), so a dead job
    is reported within ``every`` seconds of dying.
    """
    settings = runtime.config.alerts
    if not settings.enabled:
        return None
    every = every or min(30.0, max(0.25, settings.interval_seconds / 4))
    sender = AlertSender(settings, Redactor(runtime.secret_values()))
    watch = AlertWatch(runtime.engine, settings, sender, since=runtime.clock())
    thread = threading.Thread(
        target=watch.run, args=(runtime.clock, stopping, every), name="alerts", daemon=True
    )
    thread.start()
    return thread
