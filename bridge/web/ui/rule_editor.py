"""The rule editor of the Preview and Backtest pages: rules typed in a form, never saved.

The text is checked by the config's own loader (``config.rule_text``), so problems name
their line; the rules then run in place of the file's, on a copy of the loaded config.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from bridge.config import Config
from bridge.config.rule_text import RuleTextInvalid, RuleTextProblem, load_rules_text, rule_texts

# Far more than any config's rules; a form is not a way to upload files.
MAX_RULES_TEXT = 64 * 1024
ALL_RULES = "*"


@dataclass
class RuleEditor:
    """What the editor holds: its text, the rule picked to start from, and any problems."""

    text: str = ""
    picked: str = ""
    problems: list[RuleTextProblem] = field(default_factory=list)

    @property
    def in_use(self) -> bool:
        """Whether the page runs the editor's rules instead of the file's."""
        return bool(self.text.strip())

    @property
    def listing(self) -> list[tuple[int, str, bool]]:
        """The text numbered line by line, each marked when a problem names it."""
        marked = {problem.line for problem in self.problems}
        return [
            (number, line, number in marked)
            for number, line in enumerate(self.text.splitlines() or [""], 1)
        ]

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> RuleEditor:
        """The editor as posted (line endings made ``\\n``)."""
        text = form.get("rules", "").replace("\r\n", "\n")
        return cls(text=text, picked=form.get("rule_name", "").strip())

    def load_picked(self, config: Config) -> None:
        """Put the picked rule (or every rule) into the editor, as written in the file."""
        texts = rule_texts(config.rules_text)
        if self.picked == ALL_RULES:
            self.text = "\n".join(texts.values())
        elif self.picked in texts:
            self.text = texts[self.picked]

    def config(self, config: Config) -> Config | None:
        """``config`` with the editor's rules in place of the file's; None when they are invalid.

        Without text, ``config`` itself.
        """
        if not self.in_use:
            return config
        if len(self.text) > MAX_RULES_TEXT:
            self.problems = [RuleTextProblem(1, f"longer than {MAX_RULES_TEXT} characters")]
            return None
        try:
            loaded = load_rules_text(self.text, config.sources)
        except RuleTextInvalid as exc:
            self.problems = exc.problems
            return None
        return dataclasses.replace(
            config,
            rules=loaded.rules,
            rules_data=loaded.data,
            rules_text=self.text,
            rules_digest=hashlib.sha256(self.text.encode()).hexdigest(),
        )


def rule_names(config: Config) -> list[str]:
    """The file's rules by name, for the editor's 'start from' choice."""
    return [rule.name for rule in config.rules]
