"""The worker: claim a job with a lease, run it, settle it; heartbeats; graceful stop."""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from types import FrameType

from sqlalchemy import insert, update
from sqlalchemy.exc import SQLAlchemyError

from bridge.circuit import CircuitBreaker
from bridge.delivery.directory import Directory
from bridge.delivery.runner import JobResult, JobRunner
from bridge.ivvy.client import CallRecord
from bridge.retry import RetryPolicy
from bridge.runtime import Runtime
from bridge.store.queue import ClaimedJob, Queue
from bridge.store.tables import attempts, events
from bridge.wakeup import start_listener

log = logging.getLogger(__name__)


class Worker:
    """Runs ``concurrency`` threads that each claim and run one job at a time."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        concurrency: int | None = None,
        poll_interval: float | None = None,
        shutdown_timeout: float = 25.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        delivery = runtime.config.delivery
        self.runtime = runtime
        self.clock = runtime.clock
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency or delivery.concurrency
        is_sqlite = runtime.database.dialect == "sqlite"
        # PostgreSQL wakes workers with NOTIFY; SQLite has no such thing, so it polls often.
        self.poll_interval = poll_interval or (0.1 if is_sqlite else 2.0)
        self.lease_seconds = float(delivery.lease_seconds)
        self.shutdown_timeout = shutdown_timeout
        self.rand = rand
        self.policy = RetryPolicy(
            max_attempts=delivery.max_attempts,
            max_age=delivery.max_age,
            base_seconds=delivery.backoff.base_seconds,
            cap_seconds=delivery.backoff.cap_seconds,
        )
        self.breaker = CircuitBreaker(
            failures=delivery.circuit.failures, cooldown_seconds=delivery.circuit.cooldown_seconds
        )
        self.directory = Directory()
        self.queue = Queue(runtime.engine)
        self.wake = threading.Condition()
        self.stopping = threading.Event()
        self._inflight: dict[int, ClaimedJob] = {}
        self._lock = threading.Lock()

    # -- running -------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; a second signal exits at once.  Returns the exit status."""
        self._install_signals()
        threads = [
            threading.Thread(target=self._loop, name=f"worker-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        threads.append(threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True))
        listener = start_listener(self.runtime.database, self.notify, self.stopping)
        for thread in threads:
            thread.start()
        log.info("worker started", extra={"worker": self.worker_id, "threads": self.concurrency})
        self.stopping.wait()
        deadline = self.clock() + timedelta(seconds=self.shutdown_timeout)
        for thread in threads:
            thread.join(max(0.0, (deadline - self.clock()).total_seconds()))
        released = self._release_inflight()
        if listener is not None:
            listener.join(1.0)
        log.info("worker stopped", extra={"worker": self.worker_id, "released": released})
        self.runtime.database.dispose()
        return 0

    def run_pending(self, max_jobs: int = 1000) -> int:
        """Run due jobs in this thread until none is left (or ``max_jobs``); returns how many."""
        runner = self._runner([])
        done = 0
        while done < max_jobs:
            if not self._step(runner, runner_records=self._records_of(runner)):
                break
            done += 1
        return done

    def notify(self) -> None:
        """Wake idle threads now (a job was enqueued or released)."""
        with self.wake:
            self.wake.notify_all()

    def stop(self) -> None:
        """Ask the worker to stop after the jobs in flight."""
        self.stopping.set()
        self.notify()

    # -- internals -----------------------------------------------------------

    def _runner(self, records: list[CallRecord]) -> JobRunner:
        client = self.runtime.ivvy_client(on_call=records.append)
        runner = JobRunner(
            self.runtime.engine, self.runtime.config, client, self.directory, self.clock
        )
        runner.records = records  # type: ignore[attr-defined]
        return runner

    @staticmethod
    def _records_of(runner: JobRunner) -> list[CallRecord]:
        records: list[CallRecord] = runner.records  # type: ignore[attr-defined]
        return records

    def _loop(self) -> None:
        runner = self._runner([])
        records = self._records_of(runner)
        while not self.stopping.is_set():
            try:
                worked = self._step(runner, records)
            except SQLAlchemyError:
                # The database went away (a restart, a network blip): wait and try again.
                log.warning("database unavailable; retrying", exc_info=True)
                worked = False
            if not worked:
                with self.wake:
                    self.wake.wait(self.poll_interval)

    def _step(self, runner: JobRunner, runner_records: list[CallRecord]) -> bool:
        now = self.clock()
        if not self.breaker.allow(now):
            return False
        claimed = self.queue.claim(
            self.worker_id, limit=1, lease_seconds=self.lease_seconds, now=now
        )
        if not claimed:
            return False
        job = claimed[0]
        with self._lock:
            self._inflight[job.id] = job
        runner_records.clear()
        try:
            result = runner.run(job)
        except Exception as exc:
            log.exception(
                "job failed unexpectedly", extra={"job": job.id, "event_id": job.event_id}
            )
            result = JobResult("retry", f"internal error: {type(exc).__name__}")
        finally:
            self._save_attempts(job, runner_records)
        self._settle(job, result)
        with self._lock:
            self._inflight.pop(job.id, None)
        return True

    def _settle(self, job: ClaimedJob, result: JobResult) -> None:
        now = self.clock()
        context = {"job": job.id, "event_id": job.event_id, "worker": self.worker_id}
        if result.outcome == "done":
            self.breaker.record_success()
            if not self.queue.complete(job.id, self.worker_id, now=now):
                log.warning("job completed after its lease was lost", extra=context)
            return
        if result.outcome == "retry":
            self.breaker.record_failure(now)
            run_at = self.policy.next_run(
                attempts_made=job.attempts + 1,
                now=now,
                created_at=job.created_at,
                retry_after=result.retry_after,
                rand=self.rand,
            )
            if run_at is not None:
                self.queue.retry(
                    job.id, self.worker_id, run_at=run_at, error=result.error or "", now=now
                )
                log.info("job will retry", extra={**context, "run_at": run_at.isoformat()})
                return
            reason = f"gave up after {job.attempts + 1} attempts: {result.error}"
        else:
            reason = result.error or "permanent failure"
        if self.queue.kill(job.id, self.worker_id, error=reason, now=now):
            with self.runtime.engine.begin() as conn:
                conn.execute(
                    update(events)
                    .where(events.c.id == job.event_id)
                    .values(state="dead", last_error=reason, updated_at=now)
                )
            log.warning("job dead", extra={**context, "reason": reason})

    def _save_attempts(self, job: ClaimedJob, records: list[CallRecord]) -> None:
        if not records:
            return
        rows = [
            {
                "job_id": job.id,
                "event_id": job.event_id,
                "started_at": record.started_at,
                "call": f"{record.namespace}.{record.action}"[:80],
                "status": record.status,
                "duration_ms": int(record.duration_ms),
                "error": record.error,
            }
            for record in records
        ]
        try:
            with self.runtime.engine.begin() as conn:
                conn.execute(insert(attempts), rows)
        except SQLAlchemyError:
            log.warning("could not record attempts", extra={"job": job.id}, exc_info=True)

    def _heartbeats(self) -> None:
        interval = max(0.5, self.lease_seconds / 3)
        while not self.stopping.wait(interval):
            with self._lock:
                ids = list(self._inflight)
            if not ids:
                continue
            try:
                kept = self.queue.heartbeat(
                    ids, self.worker_id, lease_seconds=self.lease_seconds, now=self.clock()
                )
            except SQLAlchemyError:
                log.warning("heartbeat failed", exc_info=True)
                continue
            for lost in set(ids) - kept:
                log.warning("lease lost", extra={"job": lost, "worker": self.worker_id})

    def _release_inflight(self) -> int:
        with self._lock:
            left = list(self._inflight)
        released = 0
        for job_id in left:
            try:
                released += self.queue.release(job_id, self.worker_id, now=self.clock())
            except SQLAlchemyError:
                log.warning("could not release a job", extra={"job": job_id}, exc_info=True)
        return released

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def _handle(signum: int, _frame: FrameType | None) -> None:
            if self.stopping.is_set():
                log.warning("second signal: exiting now")
                os._exit(1)
            log.info("stopping", extra={"signal": signal.Signals(signum).name})
            self.stop()

        signal.signal(signal.SIGTERM, _handle)
        signal.signal(signal.SIGINT, _handle)
