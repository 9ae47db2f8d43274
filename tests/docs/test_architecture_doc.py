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


# -- the module map ----------------------------------------------------------------------

BRIDGE = ROOT / "bridge"
# Folders whose files are not modules of the design: one Alembic migration each.
NOT_LISTED = {"store/migrations/versions"}
LEFT_COLUMN = 23  # "  name/" padded: where an entry's description starts


def module_map() -> dict[str, str]:
    """Each entry of the map (``cli.py``, ``web/ui/``) with its whole description."""
    text = DOC.read_text()
    block = text.split("## Modules", 1)[1].split("```", 2)[1]
    entries: dict[str, str] = {}
    current = None
    for line in block.splitlines()[2:]:  # after the opening fence's line and "bridge/"
        name, description = line[:LEFT_COLUMN].strip(), line[LEFT_COLUMN:].strip()
        if name:
            current = name
            entries[current] = ""
        assert current is not None, line
        entries[current] += " " + description
    return entries


def without_asides(text: str) -> str:
    """The description with its parenthesised and backticked asides taken out."""
    text = re.sub(r"`[^`]*`", "", text)
    while re.search(r"\([^()]*\)", text):
        text = re.sub(r"\([^()]*\)", "", text)
    return text


def names_in(entry: str, description: str) -> set[str]:
    """The module and folder names a package's entry lists: outside parentheses, separated
    by commas, semicolons or ``+``, each after the label it may carry (``writes: inbox``)."""
    names = set()
    for chunk in re.split(r"[,;+]", without_asides(description)):
        name = chunk.rsplit(":", 1)[-1].strip()
        if name:
            assert re.fullmatch(r"_?[a-z][a-z0-9_]*/?", name), (
                f"{entry}: {name!r} is not a module name (put what it does in parentheses)"
            )
            names.add(name)
    return names


def listed_in_the_map() -> set[str]:
    """Paths under bridge/ the map names: ``cli.py``, ``web/``, ``web/ui/views.py``."""
    listed = set()
    for entry, description in module_map().items():
        if not entry.endswith("/"):
            listed.add(entry)
            continue
        listed.add(entry)
        for name in names_in(entry, description):
            listed.add(entry + (name if name.endswith("/") else f"{name}.py"))
    return listed


def in_the_tree() -> set[str]:
    """Paths under bridge/ as they stand: every module and every folder in a package (data
    folders included), a package's ``__init__.py`` being the package itself."""
    found = set()
    for path in BRIDGE.rglob("*"):
        relative = path.relative_to(BRIDGE).as_posix()
        if "__pycache__" in relative or any(relative.startswith(f"{n}/") for n in NOT_LISTED):
            continue
        if path.is_dir():
            found.add(relative + "/")
        elif path.suffix == ".py" and (path.name != "__init__.py" or path.parent == BRIDGE):
            found.add(relative)
    return found


def test_the_module_map_parses_as_expected() -> None:
    entries = module_map()
    assert {"cli.py", "web/", "web/ui/", "store/", "logs.py"} <= set(entries)
    assert {"inbox", "queue", "migrations/", "circuit_log"} <= names_in("store/", entries["store/"])


def test_the_module_map_is_the_tree() -> None:
    listed, tree = listed_in_the_map(), in_the_tree()
    assert sorted(tree - listed) == [], "modules under bridge/ missing from the map"
    assert sorted(listed - tree) == [], "the map names modules that do not exist"
