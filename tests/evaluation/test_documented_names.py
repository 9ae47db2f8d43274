"""README's "Writing rules" stays true: the names table against the code, the commands as run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bridge.config import load_config
from bridge.evaluation import content_type_for
from bridge.events import COMMON_FIELDS, EVENT_NAMES
from bridge.rules.names import available_names
from bridge.sources.registry import SOURCE_TYPES
from tests.evaluation.support import parse

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
SECTION = README.split("## Writing rules", 1)[1].split("\n## ", 1)[0]
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ENV = {
    "IVVY_API_KEY": "key",
    "IVVY_API_SECRET": "secret",
    "WEBSITE_FORM_TOKEN": "token",
    "TYPEFORM_SECRET": "secret",
    "CALENDLY_SIGNING_KEY": "key",
}


def _rows() -> dict[str, list[str]]:
    """The names table: source type -> its three cells."""
    rows = {}
    for line in SECTION.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


def _codes(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def test_every_source_type_has_a_row() -> None:
    assert sorted(_rows()) == sorted(SOURCE_TYPES)


def test_the_names_every_event_has_are_the_code_s() -> None:
    paragraph = SECTION.split("### The names an event provides", 1)[1].split("|", 1)[0]
    named = set(_codes(paragraph))
    assert set(EVENT_NAMES) <= named
    assert set(COMMON_FIELDS) <= named


def test_the_example_names_are_there_when_the_example_is_parsed() -> None:
    config = load_config(str(ROOT / "examples" / "bridge.yaml"), env=ENV)
    checked = 0
    for type_name, (_, _, examples) in _rows().items():
        if examples == "—":
            continue
        file_name, _, names = examples.partition(":")
        path = ROOT / "examples" / "payloads" / file_name.strip("` ")
        content_type, body = content_type_for(path, path.read_bytes())
        event = parse(config, path.name.split("-")[0], body, NOW, content_type)
        assert event.source_type == type_name
        available = available_names(event.context())
        for name in _codes(names):
            assert name in available, (type_name, name, available)
            checked += 1
    assert checked >= 10


def test_the_commands_run_as_written(tmp_path: Path) -> None:
    blocks = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.S)
    assert blocks, "the section shows its commands"
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_CONFIG" and k not in ENV}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for block in blocks:
        done = subprocess.run(
            ["bash", "-e", "-c", block],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (block, done.stdout[-2000:], done.stderr[-2000:])
        assert "MATCH] website-enquiry" in done.stdout
        assert "names  id, first_name, last_name, email, phone, message, event_type" in done.stdout
        rules = len(load_config(str(ROOT / "examples" / "bridge.yaml"), env=ENV).rules)
        assert f"website-enquiry.json → website: 1 of {rules} rules matched" in done.stdout
