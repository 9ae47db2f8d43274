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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from bridge.alerts import start_alert_watch
from bridge.circuit import CircuitBreaker
from bridge.clock import utc_now
from bridge.config.loader import LEASE_MARGIN_SECONDS
from bridge.delivery.circuit_record import CircuitRecorder
from bridge.delivery.directory import Directory
from bridge.delivery.runner import JobResult, JobRunner
from bridge.housekeeping import start_pruning
from bridge.ivvy.client import CallRecord
from bridge.metrics import observe_job
from bridge.retry import RetryPolicy
from bridge.runtime import Runtime
from bridge.store.attempts import attempt_rows, attempts_write, save_attempts
from bridge.store.events import event_write
from bridge.store.queue import ClaimedJob, Lease, Queue, Write
from bridge.store.states import JobState
from bridge.wakeup import Wakeup, start_listener

log = logging.getLogger(__name__)


@dataclass
class Slot:
    """One thread's runner, with the iVvy calls its current job made."""

    runner: JobRunner
    calls: list[CallRecord] = field(default_factory=list)


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
        # Wake-ups (NOTIFY, or the SQLite log watcher) bring new jobs at once;
        # polling only finds retries that came due and leases that expired.
        self.poll_interval = poll_interval or 1.0
        self.lease_seconds = float(delivery.lease_seconds)
        self.shutdown_timeout = shutdown_timeout
        self.rand = rand
        self.policy = RetryPolicy(
            max_attempts=delivery.max_attempts,
            max_age=delivery.max_age,
            base_seconds=delivery.backoff.base_seconds,
            cap_seconds=delivery.backoff.cap_seconds,
        )
        self.circuit_record = CircuitRecorder(lambda: runtime.engine, self.worker_id)
        self.breaker = CircuitBreaker(
            failures=delivery.circuit.failures,
            cooldown_seconds=delivery.circuit.cooldown_seconds,
            on_change=self.circuit_record,
        )
        self.directory = Directory()
        self.queue = Queue(runtime.engine)
        self.wakeup = Wakeup()
        self.stopping = threading.Event()
        self._finished = threading.Event()
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
        heartbeat = threading.Thread(target=self._heartbeats, name="heartbeat", daemon=True)
        listener = start_listener(self.runtime.database, self.notify, self.stopping)
        heartbeat.start()
        start_alert_watch(self.runtime, self.stopping)
        start_pruning(self.runtime, self.stopping)
        for thread in threads:
            thread.start()
        log.info("worker started", extra={"worker": self.worker_id, "threads": self.concurrency})
        self.stopping.wait()
        deadline = self.clock() + timedelta(seconds=self.shutdown_timeout)
        for thread in threads:
            thread.join(max(0.0, (deadline - self.clock()).total_seconds()))
        released = self._release_inflight()
        self.circuit_record.stop(self.clock())
        self._finished.set()  # heartbeats kept the leases of finishing jobs until now
        heartbeat.join(1.0)
        if listener is not None:
            listener.join(1.0)
        log.info("worker stopped", extra={"worker": self.worker_id, "released": released})
        self.runtime.database.dispose()
        return 0

    def run_pending(self, max_jobs: int = 1000) -> int:
        """Run due jobs in this thread until none is left (or ``max_jobs``); returns how many."""
        slot = self.slot()
        done = 0
        while done < max_jobs and self._step(slot):
            done += 1
        return done

    def notify(self) -> None:
        """Wake idle threads now (a job was enqueued or released)."""
        self.wakeup.notify()

    def stop(self) -> None:
        """Ask the worker to stop after the jobs in flight."""
        self.stopping.set()
        self.notify()

    def slot(self) -> Slot:
        """A runner with its own iVvy client, for one thread."""
        calls: list[CallRecord] = []
        client = self.runtime.ivvy_client(on_call=calls.append)
        runner = JobRunner(
            self.runtime.engine, self.runtime.config, client, self.directory, self.clock
        )
        return Slot(runner, calls)

    def process(self, job: ClaimedJob, slot: Slot) -> JobResult:
        """Run a job this worker claimed, record its iVvy calls, and settle it."""
        with self._lock:
            self._inflight[job.id] = job
        try:
            slot.calls.clear()
            started, real_started = self.clock(), utc_now()
            lease = Lease(job.id, self.worker_id, self.lease_seconds)
            try:
                result = slot.runner.run(job, lease)
            except Exception as exc:
                log.exception(
                    "job failed unexpectedly", extra={"job": job.id, "event_id": job.event_id}
                )
                result = JobResult("retry", f"internal error: {type(exc).__name__}")
        finally:
            # From here on the job is settled, not run: heartbeats and a graceful
            # stop leave it alone.
            with self._lock:
                self._inflight.pop(job.id, None)
        now = self.clock()
        state = self._settle(job, result, attempt_rows(job, slot.calls, started, real_started), now)
        observe_job(job, result, slot.calls, state=state, now=now)
        return result

    # -- internals -----------------------------------------------------------

    def _loop(self) -> None:
        slot = self.slot()
        while not self.stopping.is_set():
            seen = self.wakeup.mark()
            try:
                worked = self._step(slot)
            except SQLAlchemyError as exc:
                # The database went away (a restart, a network blip): wait and try again.
                log.warning("database unavailable; retrying", extra={"error": type(exc).__name__})
                worked = False
            except Exception:
                # A bug must not silently cost the worker a thread; the job's lease runs out.
                log.exception("worker thread error; carrying on")
                worked = False
            if not worked:
                self.wakeup.wait(seen, self.poll_interval)

    def _step(self, slot: Slot) -> bool:
        now = self.clock()
        if not self.breaker.allow(now):
            return False
        try:
            claimed = self.queue.claim(
                self.worker_id, limit=1, lease_seconds=self.lease_seconds, now=now
            )
        except BaseException:
            self.breaker.cancel()
            raise
        if not claimed:
            self.breaker.cancel()
            return False
        job = claimed[0]
        if self.stopping.is_set():
            # The stop came while claiming: give the job straight back.
            self.breaker.cancel()
            self.queue.release(job.id, self.worker_id, now=self.clock())
            return False
        self.process(job, slot)
        return True

    def _settle(
        self, job: ClaimedJob, result: JobResult, calls: list[dict[str, object]], now: datetime
    ) -> JobState | None:
        """Settle the job in one transaction; its new state, or None if it is not ours now."""
        if result.ivvy_failure:
            self.breaker.record_failure(now)
        elif any(call["status"] is not None for call in calls):
            self.breaker.record_success(now)  # iVvy answered, even if it refused
        else:
            self.breaker.cancel()
        context = {"job": job.id, "event_id": job.event_id, "worker": self.worker_id}
        # One transaction settles the job with everything the run wants remembered.
        also: list[Write] = [*result.writes, *attempts_write(calls)]
        if result.outcome == "lost":
            log.warning("lease lost; the job is another worker's now", extra=context)
        elif result.outcome == "done":
            if self.queue.complete(job.id, self.worker_id, now=now, also=also):
                log.info("job done", extra={**context, "attempts": job.attempts + 1})
                return JobState.DONE
            log.warning("job completed after its lease was lost", extra=context)
        elif result.outcome == "retry" and (run_at := self._next_run(job, result, now)):
            if self.queue.retry(
                job.id, self.worker_id, run_at=run_at, error=result.error or "", now=now, also=also
            ):
                log.info("job will retry", extra={**context, "run_at": run_at.isoformat()})
                return JobState.READY
        else:
            if result.outcome == "retry":
                reason = f"gave up after {job.attempts + 1} attempts: {result.error}"
            else:
                reason = result.error or "permanent failure"
            also.append(
                event_write(job.event_id, result.event_state, reason, now, parsed=result.parsed)
            )
            if self.queue.kill(job.id, self.worker_id, error=reason, now=now, also=also):
                log.warning("job dead", extra={**context, "reason": reason})
                return JobState.DEAD
        save_attempts(self.runtime.engine, job.id, calls)  # not ours any more: keep the call log
        return None

    def _next_run(self, job: ClaimedJob, result: JobResult, now: datetime) -> datetime | None:
        return self.policy.next_run(
            attempts_made=job.attempts + 1,
            now=now,
            created_at=job.created_at,
            retry_after=result.retry_after,
            rand=self.rand,
        )

    def _heartbeats(self) -> None:
        interval = max(0.5, self.lease_seconds / 3)
        while not self._finished.wait(interval):
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
            with self._lock:
                # A job settled meanwhile is no longer in flight: its lease ended normally.
                lost = [job_id for job_id in ids if job_id not in kept and job_id in self._inflight]
            for job_id in lost:
                log.warning("lease lost", extra={"job": job_id, "worker": self.worker_id})

    def _release_inflight(self) -> int:
        # These jobs' threads are still running, perhaps inside a call to iVvy that
        # will land after this process is gone: nobody may run them again before
        # that call is over, just as if the lease had run out.
        now = self.clock()
        hold = timedelta(seconds=sum(self.runtime.config.ivvy.timeout) + LEASE_MARGIN_SECONDS)
        with self._lock:
            left = list(self._inflight)
        released = 0
        for job_id in left:
            try:
                released += self.queue.release(job_id, self.worker_id, now=now, run_at=now + hold)
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
