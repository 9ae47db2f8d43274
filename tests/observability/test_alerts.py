"""Alerts to a real webhook receiver and a real SMTP server; one per condition per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from bridge.alerts import DEAD_JOB, OLDEST_WAITING, AlertGate, AlertSender, AlertWatch
from bridge.config import AlertSettings, SmtpSettings
from bridge.logs import Redactor
from bridge.store.db import build_engine
from bridge.store.tables import jobs
from tests.api.stored import store_event
from tests.observability.receivers import SmtpReceiver, WebhookReceiver

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offsets", "admitted"),
    [
        ([0], [True]),
        ([0, 1, 899], [True, False, False]),
        ([0, 900], [True, True]),
        ([0, 899.5, 900, 901, 1800], [True, False, True, False, True]),
    ],
)
def test_the_gate_admits_one_alert_per_condition_per_interval(
    offsets: list[float], admitted: list[bool]
) -> None:
    gate = AlertGate(900)
    got = [gate.admit("dead_job", T0 + timedelta(seconds=s)) for s in offsets]
    assert got == admitted


def test_conditions_are_limited_separately() -> None:
    gate = AlertGate(60)
    assert gate.admit(DEAD_JOB, T0)
    assert gate.admit(OLDEST_WAITING, T0)
    assert not gate.admit(DEAD_JOB, T0 + timedelta(seconds=30))


@pytest.fixture
def engine(sqlite_url: str):  # type: ignore[no-untyped-def]
    engine = build_engine(sqlite_url)
    yield engine
    engine.dispose()


def _kill(engine: Engine, event_id: str, at: datetime, reason: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.event_id == event_id)
            .values(state="dead", finished_at=at, last_error=reason)
        )


def test_a_dead_job_alerts_both_channels_once_per_interval_with_redacted_text(
    engine: Engine,
) -> None:
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        settings = AlertSettings(
            webhook_url=hook.url,
            smtp=SmtpSettings(
                host="127.0.0.1",
                port=smtp.port,
                sender="bridge@venue.example",
                to=("ops@venue.example",),
                starttls=False,
            ),
            interval_seconds=600,
            oldest_waiting_seconds=10_000,
        )
        sender = AlertSender(settings, Redactor(["s3cr3t-key-value"]))
        watch = AlertWatch(engine, settings, sender, since=T0)

        old = store_event(engine, external_id="old", at=T0 - timedelta(hours=1))
        _kill(engine, old, T0 - timedelta(minutes=1), "died before the watch started")
        assert watch.check(T0 + timedelta(seconds=1)) == []

        first = store_event(engine, external_id="a", at=T0)
        _kill(
            engine,
            first,
            T0 + timedelta(seconds=5),
            "iVvy refused contact jane@example.org (+61 400 111 222) key s3cr3t-key-value",
        )
        assert watch.check(T0 + timedelta(seconds=10)) == [DEAD_JOB]
        assert len(hook.bodies) == 1 and len(smtp.messages) == 1
        text = hook.bodies[0]["text"]
        assert first in text and "a job died" in text
        assert "jane@example.org" not in text and "400 111 222" not in text
        assert "s3cr3t-key-value" not in text
        envelope, message = smtp.messages[0]
        assert envelope == {"from": "bridge@venue.example", "to": ["ops@venue.example"]}
        assert message["Subject"] == "[iVvy bridge] a job died"
        assert first in message.get_payload() and "jane@" not in message.get_payload()

        # Two more die inside the interval: no alert now, both named in the next one.
        later = [store_event(engine, external_id=f"b{n}", at=T0) for n in range(2)]
        for n, event_id in enumerate(later):
            _kill(engine, event_id, T0 + timedelta(seconds=20 + n), "gave up")
        assert watch.check(T0 + timedelta(seconds=60)) == []
        assert watch.check(T0 + timedelta(seconds=300)) == []
        assert len(hook.bodies) == 1
        assert watch.check(T0 + timedelta(seconds=615)) == [DEAD_JOB]
        assert len(hook.bodies) == 2 and len(smtp.messages) == 2
        assert "2 jobs died" in hook.bodies[1]["text"]
        assert all(event_id in hook.bodies[1]["text"] for event_id in later)
        assert first not in hook.bodies[1]["text"]
        # Nothing new: nothing sent, even after the interval.
        assert watch.check(T0 + timedelta(seconds=1300)) == []


def test_a_queue_waiting_too_long_alerts_once_per_interval(engine: Engine) -> None:
    with WebhookReceiver() as hook:
        settings = AlertSettings(
            webhook_url=hook.url, oldest_waiting_seconds=120, interval_seconds=300
        )
        watch = AlertWatch(engine, settings, AlertSender(settings, Redactor()), since=T0)
        store_event(engine, external_id="w", at=T0)
        assert watch.check(T0 + timedelta(seconds=119)) == []
        assert watch.check(T0 + timedelta(seconds=121)) == [OLDEST_WAITING]
        assert "waited 121 s" in hook.bodies[0]["text"]
        assert watch.check(T0 + timedelta(seconds=400)) == []
        assert watch.check(T0 + timedelta(seconds=421)) == [OLDEST_WAITING]
        assert len(hook.bodies) == 2


def test_a_failing_channel_does_not_stop_the_other(engine: Engine) -> None:
    with WebhookReceiver(status=500) as hook, SmtpReceiver() as smtp:
        settings = AlertSettings(
            webhook_url=hook.url,
            smtp=SmtpSettings(
                host="127.0.0.1",
                port=smtp.port,
                sender="b@v.example",
                to=("o@v.example",),
                starttls=False,
            ),
        )
        sender = AlertSender(settings, Redactor())
        assert sender.send("subject", "text") == ["email"]
        assert len(hook.bodies) == 1 and len(smtp.messages) == 1
        closed = AlertSettings(webhook_url="http://127.0.0.1:9/none")
        assert AlertSender(closed, Redactor(), timeout=(1, 1)).send("s", "t") == []
