"""``GET /metrics`` in Prometheus' text format, and the ingest counters taken per response.

Counters and histograms come from every process through prometheus_client's
multiprocess files; the queue's gauges are read from the database at scrape
time, so they are right whichever process answers.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from flask import Blueprint, Flask, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bridge import metrics
from bridge.metrics_dir import MULTIPROC_ENV
from bridge.store.queries import queue_stats
from bridge.web.runtime_access import runtime

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)

# The ingest route's refusals, by status.
_REJECTIONS = {
    400: "invalid",
    401: "unauthorized",
    404: "unknown_source",
    413: "too_large",
    415: "unsupported_type",
    503: "unavailable",
}


class QueueCollector(Collector):
    """Queue depth, the oldest waiting job's age and jobs per state, read at scrape time."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        """One query per scrape; a database that does not answer gives database_up 0."""
        up = GaugeMetricFamily("bridge_database_up", "1 when the database answered the scrape.")
        try:
            stats = queue_stats(self.engine, now=self.clock())
        except SQLAlchemyError:
            log.warning("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "bridge_queue_depth", "Jobs ready to run now.", value=stats["waiting"]
        )
        oldest = stats["oldest_waiting_seconds"]
        yield GaugeMetricFamily(
            "bridge_queue_oldest_waiting_seconds",
            "Age of the longest-waiting ready job (0 when none waits).",
            value=oldest or 0.0,
        )
        jobs = GaugeMetricFamily("bridge_jobs", "Jobs by state.", labels=["state"])
        for state in ("waiting", "scheduled", "running", "dead"):
            jobs.add_metric([state], stats[state])
        yield jobs


# A process's file starts with the 4-byte count of bytes in use (prometheus_client.mmap_dict).
_HEADER_BYTES = 4


class ProcessFilesCollector(MultiProcessCollector):
    """prometheus_client's sum over every process's files, minus files not written yet.

    A process opens its file empty and only then sizes it (``MmapedDict``): a scrape that
    reads it in between fails to unpack its header, and answered 500.  Such a file holds no
    sample yet, so leaving it out loses nothing.
    """

    def collect(self) -> Iterable[Metric]:
        """The merged samples of every file that has its header."""
        files = [path for path in glob.glob(os.path.join(self._path, "*.db")) if _has_header(path)]
        return self.merge(files, accumulate=True)


def _has_header(path: str) -> bool:
    try:
        return os.path.getsize(path) >= _HEADER_BYTES
    except FileNotFoundError:  # its process's file was removed since the listing
        return False


def exposition() -> bytes:
    """The text of a scrape: every process's counters, then the queue read now."""
    if os.environ.get(MULTIPROC_ENV):
        processes = CollectorRegistry()
        ProcessFilesCollector(processes)
        counters = generate_latest(processes)
    else:
        counters = generate_latest(REGISTRY)
    rt = runtime()
    queue = CollectorRegistry()
    queue.register(QueueCollector(rt.engine, rt.clock))
    return counters + generate_latest(queue)


@bp.get("/metrics")
def scrape() -> Response:
    """Prometheus text format; no token (expose it only where Prometheus can reach it)."""
    return Response(exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def count_ingest(response: Response) -> Response:
    """Count one answer of ``POST /hooks/<source>`` by what it was (never failing the request)."""
    if request.blueprint != "hooks" or request.method != "POST":
        return response
    try:
        _count(response)
    except Exception:
        log.exception("metrics: could not count a webhook")
    return response


def _count(response: Response) -> None:
    name = (request.view_args or {}).get("source_name", "")
    # Unknown names come from the internet: one label for all of them keeps the series bounded.
    source = name if name in runtime().config.sources else "unknown"
    status = response.status_code
    if status == 202:
        metrics.WEBHOOKS_ACCEPTED.labels(source).inc()
    elif status == 200:
        body = response.get_json(silent=True) or {}
        if body.get("duplicate"):
            metrics.WEBHOOKS_DUPLICATE.labels(source).inc()
        else:
            metrics.WEBHOOKS_ACKNOWLEDGED.labels(source).inc()
    elif status in _REJECTIONS:
        metrics.WEBHOOKS_REJECTED.labels(source, _REJECTIONS[status]).inc()


def init_app(app: Flask) -> None:
    """Add ``/metrics`` and the ingest counters."""
    app.register_blueprint(bp)
    app.after_request(count_ingest)
