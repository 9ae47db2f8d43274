"""Pruning on a timer inside each worker process, so retention needs no scheduler."""

from __future__ import annotations

import logging
import random
import threading

from sqlalchemy.exc import SQLAlchemyError

from bridge.runtime import Runtime
from bridge.store.pruning import prune

log = logging.getLogger(__name__)

PRUNE_INTERVAL_SECONDS = 3600.0


def start_pruning(
    runtime: Runtime,
    stopping: threading.Event,
    *,
    interval: float = PRUNE_INTERVAL_SECONDS,
    first_delay: float | None = None,
) -> threading.Thread:
    """Prune by the config's retention every ``interval`` seconds until ``stopping`` is set.

    The first run waits a random time up to ten minutes (unless ``first_delay``
    is given) so that worker processes started together do not prune together;
    running together would still be safe, as pruning is batched and idempotent.
    """

    def _loop() -> None:
        delay = random.uniform(0, 600) if first_delay is None else first_delay
        while not stopping.wait(delay):
            delay = interval
            try:
                counts = prune(runtime.engine, runtime.config.retention, now=runtime.clock())
            except SQLAlchemyError:
                log.warning("pruning failed; will try again", exc_info=True)
                continue
            if any(counts.values()):
                log.info("pruned", extra={"deleted": counts})

    thread = threading.Thread(target=_loop, name="pruning", daemon=True)
    thread.start()
    return thread
