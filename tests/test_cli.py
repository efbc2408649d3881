"""The `matcher` command: in-process answers, data commands, errors to stderr with exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from matcher.cli.main import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1,500-listing snapshot written by `matcher demo-registry`."""
    path = tmp_path_factory.mktemp("reg") / "registry.json.gz"
    assert main(["demo-registry", "--listings", "1500", "--seed", "5", "--out", str(path)]) == 0
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def test_shortlist_example_against_a_registry_file(
    capsys: pytest.CaptureFixture[str], registry_file: Path
) -> None:
    """`matcher shortlist --registry FILE REQUEST.json` prints the answer as JSON."""
    code, answer, _ = run(
        capsys,
        "shortlist",
        "--registry",
        str(registry_file),
        str(EXAMPLES / "shortlist-harrow.json"),
    )
    assert code == 0
    assert answer["referral_id"] == "R-2026-0001"
    assert answer["snapshot_version"].startswith("sha256:")
    assert answer["placing_authority"]["code"] == "E09000015"


def test_rank_and_compare_examples_on_the_embedded_registry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's examples answer against the embedded default registry."""
    code, ranked, _ = run(capsys, "rank", str(EXAMPLES / "rank-harrow-price.json"))
    assert code == 0 and ranked["ranked"] and ranked["rejected"]
    reasons = {r["bid_id"]: r["reasons"] for r in ranked["rejected"]}
    assert reasons["B6"] == ["above_ceiling"] and reasons["B7"] == ["unknown_listing"]
    code, compared, _ = run(capsys, "compare", str(EXAMPLES / "compare-harrow.json"))
    assert code == 0 and -1 <= compared["kendall_tau"] <= 1


def test_authorities_list_lookup_and_locate(capsys: pytest.CaptureFixture[str]) -> None:
    """Geography from the command line."""
    code, listed, _ = run(capsys, "authorities")
    assert code == 0 and len(listed) == 153
    assert {"code", "name", "type", "lat", "lon"} <= set(listed[0])
    code, one, _ = run(capsys, "authorities", "--lookup", "Barking & Dagenham")
    assert code == 0 and one["code"] == "E09000002"
    code, where, _ = run(capsys, "locate", "IG11")
    assert code == 0 and where["outcode"] == "IG11"
    assert where["authority"]["code"] == "E09000002"


def test_unknown_authority_exits_1_with_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo: exit 1, canonical error on stderr with close suggestions."""
    code, out, err = run(capsys, "authorities", "--lookup", "Barkng and Dagenham")
    assert code == 1 and out is None
    body = json.loads(err)
    assert body["error"]["code"] == "unknown_authority"
    assert "Barking and Dagenham" in body["error"]["details"][0]["suggestions"]


def test_bad_request_file_exits_1_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, registry_file: Path
) -> None:
    """Validation errors name the field; nothing on stdout."""
    request = json.loads((EXAMPLES / "shortlist-harrow.json").read_text())
    request["child"]["age"] = 30
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(request))
    code, out, err = run(capsys, "shortlist", "--registry", str(registry_file), str(path))
    assert code == 1 and out is None
    assert json.loads(err)["error"]["details"][0]["field"] == "child.age"


def test_validate_registry_summary_and_errors(
    capsys: pytest.CaptureFixture[str], registry_file: Path, tmp_path: Path
) -> None:
    """A good snapshot prints a summary (exit 0); a bad one every error (exit 1)."""
    code, summary, _ = run(capsys, "validate-registry", str(registry_file))
    assert code == 0 and summary["listings"] == 1500
    document = json.loads((EXAMPLES / "shortlist-harrow.json").read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema_version": 1, "generated_at": "2026-11-20T06:00:00Z",
                               "listings": [document]}))  # fmt: skip
    code, _, err = run(capsys, "validate-registry", str(bad))
    assert code == 1 and json.loads(err)["error"]["code"] == "invalid_snapshot"


def test_schema_registry_is_published(capsys: pytest.CaptureFixture[str]) -> None:
    """`matcher schema registry` prints the snapshot's JSON Schema."""
    code, schema, _ = run(capsys, "schema", "registry")
    assert code == 0 and "Listing" in schema["$defs"]


def test_console_script_entry_point(tmp_path: Path, registry_file: Path) -> None:
    """The installed `matcher` script answers from a file (one real subprocess)."""
    script = Path(sys.executable).parent / "matcher"
    result = subprocess.run(
        [str(script), "shortlist", "--registry", str(registry_file),
         str(EXAMPLES / "shortlist-harrow.json")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["referral_id"] == "R-2026-0001"
