"""The pure core never imports web, database, Socket.IO or Slack libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = ["events/conference/programme.py", "events/conference/timetable.py",
        "events/exchange/calendar.py", "events/checkin/badges.py",
        "carousels/cafe/engine.py",
        "carousels/workshops/engine.py"]
FORBIDDEN = ("flask", "sqlalchemy", "flask_socketio", "socketio", "slack_bolt", "slack_sdk",
             "werkzeug")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("." * node.level + (node.module or ""))
    return names


@pytest.mark.parametrize("relative", PURE)
def test_pure_modules_stay_pure(relative):
    path = ROOT / relative
    assert path.exists(), f"{relative} is missing"
    bad = sorted(m for m in imported_modules(path) if m.split(".")[0] in FORBIDDEN
                 or (m.startswith(".") and m.lstrip(".") not in {"", "cafe", "rotation",
                                                                  "intents", "blocks"}))
    assert bad == [], f"{relative} imports {bad}"


def test_the_check_catches_a_flask_import(tmp_path):
    sample = tmp_path / "impure.py"
    sample.write_text("from flask import Flask\nimport os\n")
    assert "flask" in imported_modules(sample)
