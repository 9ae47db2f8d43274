"""The loaded configuration: typed sections, built sources, compiled rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.config.masking import collect_secrets, jsonable, mask_secrets
from bridge.config.sections import (
    AdminSettings,
    AlertSettings,
    DeliverySettings,
    IvvySettings,
    RetentionSettings,
)
from bridge.rules.calendar import BusinessCalendar
from bridge.sources.base import SourceType

if TYPE_CHECKING:
    from bridge.rules.rule import Rule


@dataclass(frozen=True, repr=False)
class Config:
    """Everything the config file says, validated.  Built by :func:`bridge.config.load_config`."""

    path: str
    ivvy: IvvySettings
    sources: dict[str, SourceType]
    rules: list[Rule]
    delivery: DeliverySettings
    retention: RetentionSettings
    alerts: AlertSettings
    admin: AdminSettings
    rules_text: str  # the rules section as written in the file
    rules_digest: str  # sha256 hex of rules_text
    # The interpolated rules section, as plain data (for masked()).
    rules_data: list[Any] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"Config(path={self.path!r}, sources={sorted(self.sources)}, "
            f"rules={[rule.name for rule in self.rules]})"
        )

    def calendar(self) -> BusinessCalendar:
        """The business calendar of the ``ivvy`` section: timezone, holidays, closures, hours."""
        return self.ivvy.calendar()

    def source(self, name: str) -> SourceType | None:
        """The configured source called ``name`` (the ``/hooks/<name>`` segment), if any."""
        return self.sources.get(name)

    def secret_values(self) -> list[str]:
        """Every secret string the configuration holds (for redacting logs), longest first."""
        found = collect_secrets(jsonable({name: s.options for name, s in self.sources.items()}))
        found |= collect_secrets(jsonable(self.alerts))
        found |= {self.ivvy.key, self.ivvy.secret}
        return sorted((value for value in found if value), key=len, reverse=True)

    def masked(self) -> dict[str, Any]:
        """A JSON-able view of the loaded configuration with every secret replaced by ``***``."""
        ivvy = jsonable(self.ivvy)
        ivvy["timeout"] = list(self.ivvy.timeout)
        view = {
            "path": self.path,
            "ivvy": ivvy,
            "sources": {
                name: jsonable({**source.options, "path": f"/hooks/{name}"})
                for name, source in sorted(self.sources.items())
            },
            "rules": jsonable(self.rules_data),
            "rules_digest": self.rules_digest,
            "delivery": jsonable(self.delivery),
            "retention": jsonable(self.retention),
            "alerts": jsonable(self.alerts),
            "admin": jsonable(self.admin),
        }
        if view["alerts"]["smtp"] is not None:
            view["alerts"]["smtp"]["from"] = view["alerts"]["smtp"].pop("sender")
        masked: dict[str, Any] = mask_secrets(view, also_hide=(self.ivvy.key, self.ivvy.secret))
        return masked
