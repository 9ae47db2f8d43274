"""iVvy's task statuses: the ids ``addOrUpdateTask`` takes and the names people use for them.

https://developer.ivvy.com/crm/add-or-update-task
"""

from __future__ import annotations

from enum import IntEnum


class TaskStatus(IntEnum):
    """A task's ``status`` id in iVvy."""

    NOT_STARTED = 0
    IN_PROGRESS = 1
    ON_HOLD = 2
    CANCELLED = 3
    COMPLETED = 4

    @property
    def label(self) -> str:
        """The name as iVvy shows it: ``Not Started``, ``In Progress``, ..."""
        return self.name.replace("_", " ").title()


# Every status id, in order.
STATUS_IDS = tuple(int(status) for status in TaskStatus)
