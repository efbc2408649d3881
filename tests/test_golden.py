"""Golden answers: the examples' CLI and HTTP bodies and the published schemas, byte for byte.

The files under `tests/golden/` were written from the code as it was before a refactoring
(the package layout, the hot-path rewrite), so a change of structure or speed that alters
one byte of an answer, of the OpenAPI document or of a JSON Schema fails here. A deliberate
change of the API regenerates them, and the diff shows what changed:

    MATCHER_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

Every case runs on the embedded default registry, as the README's examples do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.cli.main import main
from matcher.http.app import create_app
from matcher.service import load_snapshot
from matcher.settings import Settings
from tests.test_http_helpers import TestClient

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("MATCHER_UPDATE_GOLDEN") == "1"

# (CLI command, HTTP route, example file)
REQUESTS = [
    ("shortlist", "/v1/shortlist", "shortlist-harrow.json"),
    ("shortlist", "/v1/shortlist", "shortlist-northumberland-siblings.json"),
    ("rank", "/v1/rank", "rank-harrow-price.json"),
    ("rank", "/v1/rank", "rank-harrow-best-match.json"),
    ("compare", "/v1/rank/compare", "compare-harrow.json"),
    ("allocate", "/v1/allocate", "allocate.json"),
]
SCHEMAS = [
    "registry",
    "shortlist-request",
    "shortlist-response",
    "rank-request",
    "rank-response",
    "compare-request",
    "compare-response",
]
SUFFICIENCY_REFERRALS = 60


def check(name: str, actual: bytes) -> None:
    """Compare `actual` with the golden file `name` (or write it when updating)."""
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    assert path.exists(), f"no golden file {path}; run with MATCHER_UPDATE_GOLDEN=1"
    expected = path.read_bytes()
    assert actual == expected, f"{name} differs from its golden file"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> bytes:
    """Run `matcher ARGV` in-process; its stdout as bytes (exit 0 required)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.encode()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """The HTTP app on the embedded registry, default settings."""
    with TestClient(create_app(Settings(), load_snapshot(None))) as c:
        yield c


@pytest.mark.parametrize(("command", "route", "example"), REQUESTS)
def test_example_answers_are_golden_and_equal_over_cli_and_http(
    capsys: pytest.CaptureFixture[str], client: TestClient, command: str, route: str, example: str
) -> None:
    """Each example's CLI answer equals its golden file, and the HTTP body is the same bytes."""
    path = EXAMPLES / example
    from_cli = cli(capsys, command, str(path))
    check(f"answers/{example}", from_cli)
    r = client.post(route, content=path.read_bytes(), headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert r.content + b"\n" == from_cli


def test_sufficiency_answer_is_golden(
    capsys: pytest.CaptureFixture[str], client: TestClient, tmp_path: Path
) -> None:
    """`matcher sufficiency` on a seeded demo stream: golden, and equal over HTTP."""
    stream = tmp_path / "referrals.jsonl"
    cli(capsys, "demo-referrals", "--n", str(SUFFICIENCY_REFERRALS), "--seed", "7",
        "--out", str(stream))  # fmt: skip
    from_cli = cli(capsys, "sufficiency", str(stream))
    check("answers/sufficiency-demo-60.json", from_cli)
    referrals = [json.loads(line) for line in stream.read_text().splitlines() if line.strip()]
    r = client.post("/v1/sufficiency", json={"referrals": referrals})
    assert r.status_code == 200, r.text
    assert r.content + b"\n" == from_cli


@pytest.mark.parametrize(
    ("command", "example"),
    [(c, e) for c, _, e in REQUESTS if c in ("rank", "compare")],
)
def test_without_feedback_the_answer_is_the_one_before_feedback_existed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, example: str
) -> None:
    """ "feedback": false gives back the bytes (decision id included) written before
    feedback existed (`answers/no-feedback/` is never regenerated)."""
    body = json.loads((EXAMPLES / example).read_text())
    (body["request"] if command == "compare" else body)["feedback"] = False
    path = tmp_path / example
    path.write_text(json.dumps(body))
    expected = (GOLDEN / "answers" / "no-feedback" / example).read_bytes()
    assert cli(capsys, command, str(path)) == expected


@pytest.mark.parametrize("what", SCHEMAS)
def test_json_schemas_are_golden(capsys: pytest.CaptureFixture[str], what: str) -> None:
    """`matcher schema WHAT` prints the published JSON Schema unchanged."""
    check(f"schemas/{what}.json", cli(capsys, "schema", what))


def test_openapi_document_is_golden(client: TestClient) -> None:
    """The OpenAPI document, byte for byte."""
    r = client.get("/openapi.json")
    assert r.status_code == 200
    check("openapi.json", r.content)


def test_catalogue_is_golden(client: TestClient) -> None:
    """`GET /v1/catalogue`, byte for byte."""
    r = client.get("/v1/catalogue")
    assert r.status_code == 200
    check("catalogue.json", r.content)
