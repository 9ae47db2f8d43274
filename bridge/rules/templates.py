"""Templates in rules: sandboxed Jinja2 over an event's context, compiled once at load.

A field the event lacks is undefined: it renders empty (``{{ answers.nope.deeper }}`` too),
``default`` applies (``{{ phone | default('no phone given') }}``) and ``is defined`` is
false; an empty string the sender sent stays an empty string, and a null renders empty.
Nothing is HTML-escaped; reaching for unsafe attributes (``{{ ''.__class__ }}``) is
refused with :class:`TemplateRenderError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError


class TemplateRenderError(ValueError):
    """A template could not be rendered; the message names the problem, never field values."""


class _StrictSandbox(SandboxedEnvironment):
    """A sandbox that refuses unsafe attribute access outright instead of rendering it empty."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> jinja2.Undefined:
        raise SecurityError(f"access to attribute {attribute!r} is not allowed in a rule template")


def _null_as_empty(value: Any) -> Any:
    """A null the sender sent renders empty, as an absent field does (not the word 'None')."""
    return "" if value is None else value


ENVIRONMENT = _StrictSandbox(
    undefined=jinja2.ChainableUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    finalize=_null_as_empty,
)


@dataclass(frozen=True)
class Template:
    """A compiled template and the source it came from."""

    source: str
    compiled: jinja2.Template

    @property
    def is_constant(self) -> bool:
        """True when the source has no Jinja2 markup, so it renders to itself."""
        return "{{" not in self.source and "{%" not in self.source

    def render(self, context: Mapping[str, Any]) -> str:
        """Render over ``context``; raise :class:`TemplateRenderError` on any failure."""
        try:
            return self.compiled.render(context)
        except SecurityError as exc:
            raise TemplateRenderError(f"template {self.source!r} was refused: {exc}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateRenderError(f"template {self.source!r} failed: {exc.message}") from exc
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            name = type(exc).__name__
            raise TemplateRenderError(f"template {self.source!r} failed ({name})") from exc


def compile_template(source: str) -> Template:
    """Compile ``source``; raise ``ValueError`` with Jinja2's message when it does not parse."""
    try:
        return Template(source, ENVIRONMENT.from_string(source))
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error: {exc.message} (line {exc.lineno})") from exc
