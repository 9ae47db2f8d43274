"""docs/architecture.md names only tests that exist (issue 13: "the test that shows it")."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
TESTS = ROOT / "tests"

# `tests/ingest/`, `tests/ingest/test_x.py`, `test_x.py`, `test_x.py::test_y`, `test_y_…`,
# `…middle_of_a_name…`: an ellipsis stands for the rest of a name.
CITATION = re.compile(
    r"^(?P<path>(?:tests/[\w/]*)?(?:\w+\.py)?)(?:::)?(?P<name>…?(?:test_)?[\w…]*)$"
)


def citations() -> list[tuple[str, str]]:
    """(path, name) of each backticked span of the document that points into tests/."""
    found = []
    for span in re.findall(r"`([^`\s]+)`", DOC.read_text()):
        match = CITATION.match(span)
        if not match:
            continue
        path, name = match["path"], match["name"]
        points_at_a_test = path.startswith(("tests/", "test_")) or name.startswith("test_")
        if points_at_a_test or (name.startswith("…") and len(name) > 2):
            found.append((path, name))
    return found


@cache
def names_of_tests(file: Path) -> frozenset[str]:
    return frozenset(re.findall(r"^(?:async )?def (test_\w+)", file.read_text(), re.MULTILINE))


def files_named(path: str) -> list[Path]:
    if not path:
        return sorted(TESTS.rglob("test_*.py"))
    if path.startswith("tests/"):
        return [ROOT / path] if (ROOT / path).is_file() else []
    return sorted(TESTS.rglob(path))


def test_the_document_cites_tests() -> None:
    """The parsing below finds what it should (else the next test checks nothing)."""
    cited = citations()
    assert ("tests/ingest/test_openapi.py", "") in cited
    assert ("test_bad_input.py", "test_a_lone_surrogate_…") in cited
    assert ("", "…forged_envelope…") in cited


def test_every_cited_test_exists() -> None:
    missing = []
    for path, name in citations():
        if path.endswith("/"):
            if not (ROOT / path).is_dir():
                missing.append(path)
            continue
        files = files_named(path)
        if not files:
            missing.append(path)
            continue
        if not name:
            continue
        pattern = re.compile("^" + re.escape(name).replace("…", r"\w*") + "$")
        if not any(pattern.match(test) for file in files for test in names_of_tests(file)):
            missing.append(f"{path}::{name}")
    assert missing == [], "docs/architecture.md cites tests that do not exist"
