"""`matcher sufficiency --report` without matplotlib (the README's plain install) is refused
with the canonical error and the install line, before any work, instead of a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from matcher.cli.main import main


def test_report_without_matplotlib_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1, `invalid_request` on field `report` with `pip install 'matcher[report]'`;
    no report folder, nothing on stdout."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    referrals = tmp_path / "referrals.jsonl"
    referrals.write_text("")  # never read: the check comes first
    report = tmp_path / "report"
    code = main(["sufficiency", str(referrals), "--report", str(report)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    body = json.loads(err)["error"]
    assert body["code"] == "invalid_request"
    assert body["details"][0]["field"] == "report"
    assert "pip install 'matcher[report]'" in body["message"]
    assert not report.exists()
