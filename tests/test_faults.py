"""Faults at start-up: a bad registry file stops `matcher serve` at once with a clear message."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest

from matcher.demo_registry import generate
from tests.test_http_server import matcher_command

pytestmark = pytest.mark.slow


def _one_bad_listing(path: Path) -> None:
    document = generate(2000, seed=8).snapshot_dict()
    document["listings"][1234]["age_min"] = 99  # one bad listing among 2,000
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("missing.json", None, "not found"),
        ("truncated.json", lambda p: p.write_text('{"schema_version": 1, "listings": [{'),
         "not valid JSON"),
        ("plain.json.gz", lambda p: p.write_text("{}"), "not valid gzip"),
        ("empty.json.gz", lambda p: p.write_bytes(gzip.compress(b"")), "not valid JSON"),
        ("one-bad.json", _one_bad_listing, "listings[1234]"),
    ],
)  # fmt: skip
def test_serve_fails_fast_naming_the_file_and_the_first_errors(
    tmp_path: Path, name: str, write: object, message: str
) -> None:
    """Exit 1 within seconds, the canonical error on stderr naming the file and problem."""
    path = tmp_path / name
    if callable(write):
        write(path)
    result = subprocess.run(
        [*matcher_command(), "serve", "--port", "1", "--registry", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    body = json.loads(result.stderr.strip().splitlines()[-1])
    text = json.dumps(body)
    assert body["error"]["code"] == "invalid_snapshot"
    assert message in text
    assert str(path) in body["error"]["message"] or "not found" in text
