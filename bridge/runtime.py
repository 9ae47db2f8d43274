"""The parts a web or worker process shares: settings, config, database, clock, iVvy client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from bridge.clock import utc_now
from bridge.config import Config, load_config
from bridge.ivvy.client import CallRecord, IvvyClient
from bridge.settings import Settings
from bridge.store.db import IDLE_PING_SECONDS, EngineHolder


@dataclass
class Runtime:
    """Everything wired once per process; the only place that builds these parts."""

    settings: Settings
    config: Config
    clock: Callable[[], datetime] = utc_now
    # PostgreSQL connections kept per process: a worker needs one per thread.
    pool_size: int = 5
    # PostgreSQL connections opened beyond those when all are in use, each closed when given
    # back (None: as many as pool_size).  The web allows none (create_app says why).
    pool_overflow: int | None = None
    # PostgreSQL: ping a pooled connection idle longer than this (store.db); tests choose.
    idle_ping_seconds: float = IDLE_PING_SECONDS
    database: EngineHolder = field(init=False)

    def __post_init__(self) -> None:
        self.database = EngineHolder(
            self.settings.database_url,
            pool_size=self.pool_size,
            max_overflow=self.pool_overflow,
            timeout_seconds=self.settings.db_timeout,
            idle_ping_seconds=self.idle_ping_seconds,
        )

    @classmethod
    def from_env(
        cls, settings: Settings | None = None, *, pool_overflow: int | None = None
    ) -> Runtime:
        """Settings from the environment, config from ``BRIDGE_CONFIG``; fails fast when invalid."""
        settings = settings or Settings.from_env()
        config = load_config(settings.config_path)
        return cls(settings=settings, config=config, pool_overflow=pool_overflow)

    @property
    def engine(self) -> Engine:
        """This process's database engine (created after any fork)."""
        return self.database.get()

    def ivvy_client(self, on_call: Callable[[CallRecord], None] | None = None) -> IvvyClient:
        """A signing client for the configured iVvy account."""
        ivvy = self.config.ivvy
        return IvvyClient(
            ivvy.key, ivvy.secret, base_url=ivvy.base_url, timeout=ivvy.timeout, on_call=on_call
        )

    def secret_values(self) -> list[str]:
        """Every secret the config holds, so that logs can redact them wherever they appear."""
        return self.config.secret_values()
