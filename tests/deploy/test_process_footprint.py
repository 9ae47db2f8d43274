"""What the long-running processes hold: no Alembic in the web.

That is memory a web process would hold for nothing (the deployment's PSS, BENCHMARKS.md
"Memory").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bridge.store.migrate import alembic_config, head_revision

ROOT = Path(__file__).resolve().parents[2]


def _loaded(code: str, modules: list[str]) -> list[str]:
    """Which of ``modules`` a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    alembics = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head_revision() == alembics
    assert alembics is not None


def test_the_web_app_does_not_load_alembic() -> None:
    code = "import bridge.web.health, bridge.web.api, bridge.web.hooks, bridge.web.ui"
    assert _loaded(code, ["alembic", "flask"]) == ["flask"]  # the probe sees what it must
