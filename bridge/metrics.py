"""Prometheus metrics of the bridge, and what one job run adds to them.

With PROMETHEUS_MULTIPROC_DIR set (see ``bridge.metrics_dir``) every process
writes its own files and ``/metrics`` adds them up across processes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

from bridge.store.states import EventState, JobState

if TYPE_CHECKING:
    from bridge.delivery.runner import JobResult
    from bridge.ivvy.client import CallRecord
    from bridge.store.queue import ClaimedJob

log = logging.getLogger(__name__)
WEBHOOKS_ACCEPTED = Counter(
    "bridge_webhooks_accepted", "Webhook deliveries stored with a job.", ["source"]
)
WEBHOOKS_REJECTED = Counter(
    "bridge_webhooks_rejected",
    "Webhook deliveries refused, by reason "
    "(unauthorized, too_large, unsupported_type, invalid, unknown_source, unavailable).",
    ["source", "reason"],
)
WEBHOOKS_DUPLICATE = Counter(
    "bridge_webhooks_duplicate", "Webhook deliveries that repeated an earlier one.", ["source"]
)
WEBHOOKS_ACKNOWLEDGED = Counter(
    "bridge_webhooks_acknowledged",
    "Webhook deliveries answered without an event (handshakes, echoes).",
    ["source"],
)
TASKS_CREATED = Counter("bridge_tasks_created", "Tasks created in iVvy.", ["source"])
FAILURES = Counter(
    "bridge_failures",
    "Failures by class: transient (the job will retry), dead (the job gave up), "
    "delivery (a rule could not make its task), internal (an unexpected error; it retries), "
    "invalid (the worker's parse refused an accepted body: the event is invalid).",
    ["class"],
)
DELIVERY_LATENCY = Histogram(
    "bridge_delivery_latency_seconds",
    "From receiving an event to its task existing in iVvy.",
    ["source"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600),
)
IVVY_LATENCY = Histogram(
    "bridge_ivvy_call_seconds",
    "iVvy API calls by namespace.action and outcome (ok or error).",
    ["call", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30),
)


def observe_job(
    job: ClaimedJob,
    result: JobResult,
    calls: Sequence[CallRecord],
    *,
    state: str | None,
    now: datetime,
) -> None:
    """Count what one job run did: iVvy calls, tasks created, failures.  Never raises.

    ``state`` is the job's state once settled (None when the job was no longer this
    worker's to settle: its tasks are counted by the run that settles it); ``now``
    is when the run's tasks were recorded, for the delivery latency.
    """
    try:
        _observe(result, calls, state, now)
    except Exception:
        log.warning("metrics: could not observe a job", extra={"job": job.id}, exc_info=True)


def _observe(
    result: JobResult, calls: Sequence[CallRecord], state: str | None, now: datetime
) -> None:
    for call in calls:
        outcome = "error" if call.error else "ok"
        IVVY_LATENCY.labels(f"{call.namespace}.{call.action}", outcome).observe(
            call.duration_ms / 1000.0
        )
    internal = result.outcome == "retry" and (result.error or "").startswith("internal error")
    if state == JobState.DEAD:
        FAILURES.labels("dead").inc()
    elif internal:
        FAILURES.labels("internal").inc()
    elif result.outcome == "retry" and state == JobState.READY:
        FAILURES.labels("transient").inc()
    elif result.event_state == EventState.INVALID and state == JobState.DONE:
        FAILURES.labels("invalid").inc()
    # A failed delivery was written when it failed, whatever became of the job.
    for _ in range(result.deliveries_failed):
        FAILURES.labels("delivery").inc()
    if state is None or result.source is None or result.received_at is None:
        return
    latency = max(0.0, (now - result.received_at).total_seconds())
    for _ in range(result.tasks_created):
        TASKS_CREATED.labels(result.source).inc()
        DELIVERY_LATENCY.labels(result.source).observe(latency)
