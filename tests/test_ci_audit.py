"""The CI audit says "NOT AUDITED" when pip-audit could look nothing up, never "no known
vulnerabilities"; it fails on a vulnerability, and on a skipped audit when one is required."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = "Dependency not found on PyPI and could not be audited: numpy (2.4.6)"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit = _load()


def _dep(name: str, vulns: list[dict[str, Any]] | None = None, skip: str = "") -> dict[str, Any]:
    if skip:
        return {"name": name, "skip_reason": skip}
    return {"name": name, "version": "1.0", "vulns": vulns or []}


def test_nothing_looked_up_is_not_audited() -> None:
    """Every package skipped (the service unreachable): NOT AUDITED, and no clean claim."""
    code, lines = audit.verdict({"dependencies": [_dep("numpy", skip=SKIP)] * 3}, "", False)
    text = "\n".join(lines)
    assert code == 0
    assert "NOT AUDITED: 3 of 3" in text
    assert "no known vulnerabilities" not in text.lower()


def test_required_audit_fails_when_skipped() -> None:
    """CI_AUDIT_REQUIRED=1: an audit that could not look packages up fails."""
    code, _ = audit.verdict({"dependencies": [_dep("numpy", skip=SKIP)]}, "", True)
    assert code == 1


def test_partial_audit_names_both_counts() -> None:
    """Some looked up, some not: both counts, still NOT AUDITED for the rest."""
    report = {"dependencies": [_dep("a"), _dep("numpy", skip=SKIP)]}
    code, lines = audit.verdict(report, "", False)
    assert code == 0
    assert lines == [
        f"audit: NOT AUDITED: 1 of 2 locked packages could not be looked up in the "
        f"vulnerability service, so nothing is known about them (first reason: {SKIP})",
        "audit: 1 of 2 audited",
    ]


def test_clean_audit_says_so() -> None:
    """Every package looked up and none vulnerable."""
    code, lines = audit.verdict({"dependencies": [_dep("a"), _dep("b")]}, "", True)
    assert (code, lines) == (0, ["audit: 2 of 2 locked packages audited, no known vulnerabilities"])


@pytest.mark.parametrize("required", [False, True])
def test_vulnerability_fails(required: bool) -> None:
    """A known vulnerability fails the run whether or not the audit is required."""
    vuln = {"id": "PYSEC-0000-1", "fix_versions": ["1.1"]}
    code, lines = audit.verdict({"dependencies": [_dep("a", [vuln])]}, "", required)
    assert code == 1
    assert lines[0] == "audit: a 1.0: PYSEC-0000-1 (fixed in 1.1)"


def test_pip_audit_crash_is_not_audited() -> None:
    """No JSON at all (pip-audit crashed): NOT AUDITED with its last error line."""
    code, lines = audit.verdict(None, "Traceback ...\nConnectionError: refused\n", False)
    assert code == 0
    assert lines == ["audit: NOT AUDITED: pip-audit did not run (ConnectionError: refused)"]
