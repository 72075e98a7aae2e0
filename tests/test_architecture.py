"""The house stays easy to change: three installed names, layers that point down, no circles."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_layers_and_the_absence_of_circles_hold() -> None:
    """import-linter's contracts in pyproject.toml (layers, acyclic siblings, a pure domain)."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_installs_bot_ditbot_and_storage_only(tmp_path: Path) -> None:
    """Generic names beside ours (web, portal, outbox...) would clash with other distributions."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("ditbot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (top_level,) = [name for name in names if name.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode().split() == ["bot", "ditbot", "storage"]
    # What the running product reads from the package, not from the source tree.
    for shipped in (
        "ditbot/mail/templates/fr/message.html",
        "ditbot/web/templates/page.html",
        "storage/migrations/env.py",
        "ditbot/playground/templates/page.html",
        "ditbot/playground/static/playground.js",
        "ditbot/playground/static/playground.css",
    ):
        assert shipped in names
    assert not [name for name in names if name.startswith(("tests/", "bench/"))]
