"""How views reach the process's Runtime."""

from __future__ import annotations

from flask import current_app

from bridge.runtime import Runtime


def runtime() -> Runtime:
    """The Runtime that ``create_app`` attached to this app."""
    rt: Runtime = current_app.extensions["bridge"]
    return rt
