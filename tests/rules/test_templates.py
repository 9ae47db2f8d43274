"""Rule templates: missing fields, default, no escaping, and the sandbox."""

from __future__ import annotations

import pytest

from bridge.rules.templates import TemplateRenderError, compile_template

CONTEXT = {
    "first_name": "Jo",
    "last_name": "",
    "message": "Tom & Jerry <3",
    "answers": {"event_type": "Wedding", "guests": 120, "services": ["AV", "Catering"]},
    "data": {"contact": {"firstName": "Sam"}},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Call {{ first_name }}", "Call Jo"),
        ("{{ answers.event_type | lower }}", "wedding"),
        ("{{ answers.nope }}", ""),
        ("[{{ answers.nope.deeper.still }}]", "[]"),
        ("{{ nothing_at_all }}", ""),
        ("{{ answers.nope | default('n/a') }}", "n/a"),
        ("{{ last_name | default('n/a', true) }}", "n/a"),  # empty string counts with true
        ("{{ last_name | default('n/a') }}", ""),
        ("{{ message }}", "Tom & Jerry <3"),  # no HTML escaping
        ("{{ answers.guests + 1 }}", "121"),
        ("{{ answers.services | join(', ') }}", "AV, Catering"),
        ("{{ data.contact.firstName }} {{ data['contact']['firstName'] }}", "Sam Sam"),
        ("{% if answers.guests > 100 %}big{% else %}small{% endif %}", "big"),
        ("plain text", "plain text"),
    ],
)
def test_render(source: str, expected: str) -> None:
    assert compile_template(source).render(CONTEXT) == expected


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ first_name.__class__ }}",
        "{{ answers.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_sandbox_refuses_unsafe_attributes(source: str) -> None:
    with pytest.raises(TemplateRenderError, match="not allowed in a rule template"):
        compile_template(source).render(CONTEXT)


def test_errors_while_rendering_become_template_render_errors() -> None:
    with pytest.raises(TemplateRenderError, match=r"failed \(ZeroDivisionError\)"):
        compile_template("{{ 1 / 0 }}").render(CONTEXT)
    with pytest.raises(TemplateRenderError):
        compile_template("{{ answers.nope() }}").render(CONTEXT)


def test_syntax_errors_are_caught_at_compile_time() -> None:
    with pytest.raises(ValueError, match="template syntax error"):
        compile_template("{{ first_name ")
    assert compile_template("no markup").is_constant
    assert not compile_template("{{ x }}").is_constant
