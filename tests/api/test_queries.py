"""The read-side queries on SQLite and PostgreSQL: filters, pages, counts, queue stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bridge.store.db import build_engine
from bridge.store.queries import counts_by_source, get_event, list_events, queue_stats
from bridge.store.tables import jobs
from tests.api.stored import store_event

T0 = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = build_engine(database_url)
    yield engine
    engine.dispose()


def test_filters_search_and_pages(engine) -> None:  # type: ignore[no-untyped-def]
    ids = [
        store_event(engine, external_id=f"r-{n}", at=T0 + timedelta(minutes=n), email=f"p{n}@x.org")
        for n in range(5)
    ]
    other = store_event(engine, source="calendly", external_id="c-1", at=T0 + timedelta(hours=3))

    everything = list_events(engine)
    assert [e["id"] for e in everything["events"]] == [other, *reversed(ids)]
    assert everything["next"] is None

    website = list_events(engine, source="website")["events"]
    assert {e["source"] for e in website} == {"website"}
    assert len(website) == 5

    window = list_events(engine, since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert [e["external_id"] for e in window["events"]] == ["r-2", "r-1"]

    assert [e["id"] for e in list_events(engine, search="P3@X.org")["events"]] == [ids[3]]
    assert [e["id"] for e in list_events(engine, search="c-1")["events"]] == [other]
    assert [e["id"] for e in list_events(engine, search=ids[0])["events"]] == [ids[0]]
    assert list_events(engine, search="nobody@x.org")["events"] == []
    assert list_events(engine, state="done")["events"] == []
    assert len(list_events(engine, state="received")["events"]) == 6

    first = list_events(engine, limit=4)
    second = list_events(engine, limit=4, cursor=first["next"])
    assert first["next"] is not None and second["next"] is None
    seen = [e["id"] for e in first["events"] + second["events"]]
    assert seen == [e["id"] for e in everything["events"]]

    with pytest.raises(ValueError):
        list_events(engine, cursor="garbage")


def test_one_event_with_its_job(engine) -> None:  # type: ignore[no-untyped-def]
    event_id = store_event(engine, external_id="r-9", at=T0, email="a@b.org")
    found = get_event(engine, event_id)
    assert found is not None
    assert found["state"] == "received"
    assert found["event"]["fields"]["email"] == "a@b.org"
    assert found["received_at"] == T0.isoformat()
    assert [j["state"] for j in found["jobs"]] == ["ready"]
    assert found["deliveries"] == [] and found["attempts"] == []
    assert get_event(engine, "ev_missing") is None


def test_counts_per_hour_and_day(engine) -> None:  # type: ignore[no-untyped-def]
    for n, minutes in enumerate((0, 10, 70)):
        store_event(engine, external_id=f"h-{n}", at=T0 + timedelta(minutes=minutes))
    store_event(engine, source="calendly", external_id="c", at=T0 + timedelta(minutes=5))
    store_event(engine, external_id="late", at=T0 + timedelta(days=1))

    hours = counts_by_source(engine, since=T0 - timedelta(hours=1), until=T0 + timedelta(hours=5))
    assert hours == [
        {"source": "calendly", "bucket": "2026-03-02T09:00:00+00:00", "count": 1},
        {"source": "website", "bucket": "2026-03-02T09:00:00+00:00", "count": 2},
        {"source": "website", "bucket": "2026-03-02T10:00:00+00:00", "count": 1},
    ]
    days = counts_by_source(
        engine, since=T0 - timedelta(days=1), until=T0 + timedelta(days=2), unit="day"
    )
    assert days == [
        {"source": "calendly", "bucket": "2026-03-02T00:00:00+00:00", "count": 1},
        {"source": "website", "bucket": "2026-03-02T00:00:00+00:00", "count": 3},
        {"source": "website", "bucket": "2026-03-03T00:00:00+00:00", "count": 1},
    ]


def test_queue_stats_count_due_jobs_and_the_oldest_age(engine) -> None:  # type: ignore[no-untyped-def]
    assert queue_stats(engine, now=T0)["oldest_waiting_seconds"] is None
    store_event(engine, external_id="a", at=T0)
    store_event(engine, external_id="b", at=T0 + timedelta(minutes=1))
    later = store_event(engine, external_id="c", at=T0 + timedelta(minutes=2))
    with engine.begin() as conn:
        conn.execute(
            update(jobs).where(jobs.c.event_id == later).values(run_at=T0 + timedelta(hours=1))
        )
    stats = queue_stats(engine, now=T0 + timedelta(minutes=5))
    assert stats == {
        "waiting": 2,
        "scheduled": 1,
        "running": 0,
        "dead": 0,
        "oldest_waiting_seconds": 300.0,
    }
