"""The architecture as a test: imports point inward, no cycles, no web framework in the core.

The contracts live in pyproject.toml (`[tool.importlinter]`) and are checked with
import-linter over the real source. Each kind of violation is then planted in a copy of the
packages to show that the check fails on it, so a contract that silently stopped matching
(a renamed package, a typo in a layer) cannot pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run import-linter with the project's contracts (no cache: always the current source)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT), "--no-cache", str(cwd / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_source_keeps_every_import_contract() -> None:
    """Layers, no web framework in the core, no cycles: all kept on the real packages."""
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_every_subpackage_says_what_it_holds_and_may_import() -> None:
    """Each subpackage's `__init__` docstring names what it may import (the rule is read)."""
    for init in sorted((ROOT / "matcher").glob("*/__init__.py")):
        text = init.read_text()
        assert text.startswith('"""'), init
        assert "import" in text.split('"""')[1], f"{init}: say what it may import"


# (file to change, line to add, contract expected to break)
VIOLATIONS = [
    # the registry reaching up into matching: an outward import
    ("matcher/registry/index.py", "import matcher.match.shortlist", "Imports point only inward"),
    # ... which is also a cycle (the matching imports the registry)
    ("matcher/registry/index.py", "import matcher.match.shortlist", "No import cycles"),
    # the vocabulary importing the service: outward across every layer
    ("matcher/vocabulary/money.py", "import matcher.service", "Imports point only inward"),
    # two sibling modules of one layer importing each other: a cycle, not a layer breach
    ("matcher/match/radius.py", "import matcher.match.shortlist", "No import cycles"),
    # a web framework inside the core
    ("matcher/bids/pricing.py", "import fastapi", "No web framework in the core"),
]


@pytest.mark.parametrize(("path", "line", "contract"), VIOLATIONS)
def test_a_planted_violation_breaks_its_contract(
    tmp_path: Path, path: str, line: str, contract: str
) -> None:
    """The same check over a copy with one bad import fails, naming the contract."""
    ignore = shutil.ignore_patterns("__pycache__", "console", "data")
    for package in ("matcher", "geodata"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / path
    source = target.read_text()
    # after the module docstring and `from __future__`, like any other import
    head, sep, rest = source.partition("from __future__ import annotations\n")
    target.write_text(head + sep + line + "\n" + rest)
    result = lint(tmp_path, pythonpath=tmp_path)
    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout.splitlines(), result.stdout
