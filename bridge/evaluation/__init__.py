"""One evaluation of the rules on an event, shared by the worker and every preview.

The stable entry points (other modules and pages build on them):

- :func:`evaluate_event` ``(config, event, now, *, rules=None, calendar=None,
  lookups=None) -> list[RuleVerdict]``: each rule's verdict (``kind`` is ``no_match``,
  ``task`` with its ``plan``, or ``error`` with the worker's words), plus ``warnings``.
- :func:`preview_event` ``(config, event, now) -> dict``: the preview JSON of a parsed
  event (verdicts, task bodies, the iVvy calls that would follow, the names available).
- :func:`preview` ``(config, source_name, body, content_type, now) -> dict``: the same
  for a raw body, parsed by the source as ``/hooks/<source>`` would.
"""

from bridge.evaluation.preview import PreviewError, content_type_for, preview, preview_event
from bridge.evaluation.verdicts import RuleVerdict, evaluate_event, summary

__all__ = [
    "PreviewError",
    "RuleVerdict",
    "content_type_for",
    "evaluate_event",
    "preview",
    "preview_event",
    "summary",
]
