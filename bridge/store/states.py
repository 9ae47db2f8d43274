"""The states an event, a job and a delivery can be in: named here once, used everywhere.

Each is a ``StrEnum``: its members are the strings stored in the ``state`` columns, so a
member compares equal to what a query reads back.
"""

from __future__ import annotations

from enum import StrEnum


class EventState(StrEnum):
    """``events.state``."""

    RECEIVED = "received"  # stored with its job; no run yet (or replayed)
    PROCESSING = "processing"  # a worker claimed its job
    RETRYING = "retrying"  # a run failed transiently; the job waits for its next run
    DONE = "done"  # every matched rule has its task
    NO_MATCH = "no_match"  # no rule matched
    FAILED = "failed"  # a rule failed for good: a person must act, then replay
    DEAD = "dead"  # the job gave up (retries exhausted, or nothing to run)
    INVALID = "invalid"  # authentic but unparseable: kept with the reason, no job


class JobState(StrEnum):
    """``jobs.state``."""

    READY = "ready"  # waiting for run_at
    RUNNING = "running"  # leased by a worker
    DONE = "done"
    DEAD = "dead"


class DeliveryState(StrEnum):
    """``deliveries.state``: the steps of one (event, rule) towards exactly one task."""

    PENDING = "pending"  # nothing sent yet (or a replay put a failed delivery back)
    CREATING_LEAD = "creating_lead"  # a lead is being created for it
    CREATING_TASK = "creating_task"  # the task body is stored and may have been sent
    TASK_UNSENT = "task_unsent"  # the send certainly did not reach iVvy
    DONE = "done"  # the task exists; task_id holds it
    ACTED = "acted"  # an action, or an update_open event: its task_actions rows say what
    FAILED = "failed"  # failed for good, with the reason in error


class ActionState(StrEnum):
    """``task_actions.state``: one action (complete, cancel, update) on one task, once."""

    PENDING = "pending"  # selected; nothing sent yet
    SENDING = "sending"  # the body is stored and may have been sent
    DONE = "done"  # iVvy has the change
    SKIPPED = "skipped"  # left alone: closed by a person, or gone from iVvy (error says)
    FAILED = "failed"  # iVvy refused it for good (error says)


# Jobs a worker may still run; the rest are finished.
ACTIVE_JOB_STATES = (JobState.READY, JobState.RUNNING)
FINISHED_JOB_STATES = (JobState.DONE, JobState.DEAD)
# Events a person should look at.
NEEDS_A_PERSON = (EventState.FAILED, EventState.INVALID)
