"""The import contracts in pyproject.toml hold, and they catch a broken import.

The contracts (layers per feature folder, forbidden imports, independent adapters) are described in
docs/architecture.md; `lint-imports` checks them, in `make test` and here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The venv's own executable, next to the interpreter running the tests (not resolved: a venv's
# python is a symlink to the system one).
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("events", "carousels", "bot")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the packages under ``cwd`` with the contracts in its pyproject.toml."""
    assert LINT_IMPORTS.exists(), f"{LINT_IMPORTS} is missing: pip install -e '.[test]'"
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_each_kind_of_contract_fails_when_broken(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    breakages = {
        # a model reaching up into its services
        "events/conference/models.py": "from events.conference import services",
        # a pure module importing a web framework
        "events/conference/programme.py": "import flask",
        # events importing carousels
        "events/hooks.py": "import carousels.cafe",
        # one feature's page importing another feature's page
        "events/live/views.py": "from events.conference import views",
    }
    for relative, line in breakages.items():
        with open(tmp_path / relative, "a") as module:
            module.write(f"\n{line}  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "events.conference.models is not allowed to import events.conference.services" in out
    assert "events.conference.programme is not allowed to import flask" in out
    assert "events is not allowed to import carousels" in out
    assert "events.live.views is not allowed to import events.conference.views" in out
