"""Backtest: a config's rules on a source's last stored events, set against what happened.

``backtest(config, source, runs, last)`` evaluates, per rule, what each stored event would
do now (a task, an error, no match) and where that differs from the stored deliveries.
Nothing is sent and nothing is written.
"""

from __future__ import annotations

from bridge.backtest.report import Difference, Report, RuleTally, backtest

__all__ = ["Difference", "Report", "RuleTally", "backtest"]
