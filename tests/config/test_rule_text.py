"""Rules typed in a form: checked by the config's own loader, problems by line, never the
environment; and each rule of a file's section handed back as written."""

from __future__ import annotations

import pytest

from bridge.config.rule_text import RuleTextInvalid, load_rules_text, rule_texts

SECTION = """  # the venue's enquiries
  - name: enquiry   # every form
    on: {source: website}
    contact: {email: "{{ email }}", create: true}
    task: {name: "Call {{ first_name }}", due: "+1 day at 09:00"}

  # companies
  - name: company
    on: {source: website}
    company: {id: 1}
    task:
      name: "Follow up"
      due: "+2 business days at 10:00"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(RuleTextInvalid) as raised:
        load_rules_text(text, ["website"])
    return [str(problem) for problem in raised.value.problems]


def test_each_rule_as_written_comments_kept_and_it_loads_again() -> None:
    texts = rule_texts(SECTION)
    assert list(texts) == ["enquiry", "company"]
    assert texts["enquiry"].startswith("- name: enquiry   # every form\n  on: {source: website}")
    assert "# companies" not in texts["enquiry"]
    assert texts["company"].endswith('    due: "+2 business days at 10:00"\n')
    loaded = load_rules_text(texts["company"] + texts["enquiry"], ["website"])
    assert [rule.name for rule in loaded.rules] == ["company", "enquiry"]
    assert loaded.data[0]["company"] == {"id": 1}


def test_flow_style_rules_are_written_out_again() -> None:
    texts = rule_texts("[{name: a, on: {source: website}}, {name: b, on: {source: website}}]")
    assert texts["b"] == "- name: b\n  'on':\n    source: website\n"


def test_one_rule_without_a_list_is_the_first_rule() -> None:
    one = 'name: solo\non: {source: website}\ncompany: {id: 1}\ntask: {name: x, due: "+1 day"}\n'
    assert [rule.name for rule in load_rules_text(one, ["website"]).rules] == ["solo"]
    assert problems(one.replace("+1 day", "+1 fortnight")) == [
        "line 4: rules[0].task.due: unknown unit 'fortnight' (use minutes, hours, days, weeks or "
        "business days)"
    ]


def test_problems_name_their_lines_in_order() -> None:
    text = rule_texts(SECTION)["enquiry"] + rule_texts(SECTION)["company"]
    text = text.replace("source: website}\n  company", "source: elsewhere}\n  company")
    text = text.replace("+2 business days", "+2 fortnights").replace(
        "- name: company", "- name: enquiry"
    )
    assert problems(text) == [
        "line 5: rules[1].name: duplicate rule name 'enquiry' (also rules[0])",
        "line 6: rules[1].on.source: no source named 'elsewhere' (configured: website)",
        "line 10: rules[1].task.due: unknown unit 'fortnights' (use minutes, hours, days, weeks "
        "or business days)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- name: a\n  on: {source: website\n", "invalid YAML"),
        ("", "write one rule (a mapping) or a list of rules"),
        ("42", "write one rule (a mapping) or a list of rules"),
        ("- 42", "rules[0]: a rule must be a mapping"),
    ],
)
def test_text_that_is_not_rules(text: str, expected: str) -> None:
    assert expected in problems(text)[0]


def test_the_environment_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SECRET", "hunter2-hunter2")
    text = (
        'name: a\non: {source: website}\ncompany: {id: 1}\ntask: {name: "${SOME_SECRET}", '
        'due: "+1 day"}\n'
    )
    found = problems(text)
    assert found == [
        "line 4: rules[0].task.name: ${...} reads the environment in the config file only; "
        "write the value here"
    ]
    literal = load_rules_text(text.replace("${SOME", "$${SOME"), ["website"])
    assert literal.rules[0].task.name.source == "${SOME_SECRET}"
