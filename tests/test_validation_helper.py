"""The validation helper process (`matcher.registry.helper`): a file decoded with its help
gives the registry, or the errors, that one process gives; a helper that cannot start,
stops, answers junk or stays silent only costs time, and never outlives the load."""

from __future__ import annotations

import copy
import gzip
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from matcher.http.state import settings_loader
from matcher.registry import helper as helper_module
from matcher.registry import loader
from matcher.registry.columns import Registry
from matcher.registry.demo import generate
from matcher.registry.helper import Helper
from matcher.registry.loader import load_registry
from matcher.settings import Settings
from tests.test_snapshot_loader import (
    FAST_PATH_EDITS,
    _outcome,
    _varied,
    assert_same_outcome,
    assert_same_registry,
)

CHUNK = 40  # listings a chunk here: the 300-listing document makes 8 chunks
REAL_READY = Helper.ready


@pytest.fixture(scope="module")
def registry() -> Registry:
    return generate(300, seed=12)


@pytest.fixture()
def document(registry: Registry) -> dict[str, Any]:
    return copy.deepcopy(registry.snapshot_dict())


@pytest.fixture()
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """Every file decoded with a helper, in chunks of CHUNK listings, the helper given work
    from the first chunk (the loader waits for its ready frame instead of going on alone);
    the helper processes started, for the tests to check that each has ended."""
    monkeypatch.setattr(loader, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(loader, "CHUNK_LISTINGS", CHUNK)
    processes: list[subprocess.Popen[bytes]] = []
    real_init, real_ready = Helper.__init__, Helper.ready

    def init(self: Helper, process: subprocess.Popen[bytes]) -> None:
        processes.append(process)
        real_init(self, process)

    def ready(self: Helper) -> bool:
        if not self.is_ready:
            helper_module._readable(self._from, 30.0)
        return real_ready(self)

    monkeypatch.setattr(Helper, "__init__", init)
    monkeypatch.setattr(Helper, "ready", ready)
    return processes


def _file(path: Path, document: dict[str, Any]) -> Path:
    path.write_bytes(gzip.compress(json.dumps(document).encode(), mtime=0))
    return path


def _helper_chunks(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [
        r.fields["helper_chunks"]  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "snapshot decoded with a helper process"
    ]


def test_a_file_decoded_with_a_helper_is_the_one_decoded_alone(
    started: list[subprocess.Popen[bytes]],
    document: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = _file(tmp_path / "r.json.gz", _varied(document))
    with caplog.at_level(logging.INFO, logger="matcher.registry"):
        beside = load_registry(path, helper=True)
    assert _helper_chunks(caplog)[0] >= 2  # it held the first two chunks, at least
    assert_same_registry(beside, load_registry(path, helper=False))
    assert len(started) == 1 and started[0].poll() == 0  # it ended, and cleanly


def test_errors_and_lax_listings_in_chunks_the_helper_decoded_are_reported_alike(
    started: list[subprocess.Popen[bytes]],
    document: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Invalid and not-plain listings spread over every chunk: the same errors, in the same
    order, as one process gives (and as the pydantic models give)."""
    document = _varied(document)
    listings = document["listings"]
    for i, edit in zip(range(3, 300, 7), sorted(FAST_PATH_EDITS), strict=False):
        # Not a lone surrogate (not UTF-8) nor NaN (not JSON): files read whole, no chunks.
        if "surrogate" not in edit and "NaN" not in edit:
            FAST_PATH_EDITS[edit](listings[i])
    listings[250]["id"] = listings[20]["id"]
    path = _file(tmp_path / "mixed.json.gz", document)
    with caplog.at_level(logging.INFO, logger="matcher.registry"):
        assert_same_outcome(
            lambda: load_registry(path, helper=True), lambda: load_registry(path, helper=False)
        )
    assert _helper_chunks(caplog)[0] >= 2
    assert not isinstance(_outcome(lambda: load_registry(path, helper=True)), Registry)


def test_lax_but_valid_listings_decoded_by_the_helper_give_the_same_registry(
    started: list[subprocess.Popen[bytes]], document: dict[str, Any], tmp_path: Path
) -> None:
    """Chunks the helper finds not plain come back as such and go through the models here."""
    listings = document["listings"]
    valid = [edit for edit in sorted(FAST_PATH_EDITS) if "(valid" in edit]
    for i in range(0, 300, 13):
        FAST_PATH_EDITS[valid[i % len(valid)]](listings[i])
    path = _file(tmp_path / "lax.json.gz", document)
    beside = load_registry(path, helper=True)
    assert isinstance(beside, Registry)
    assert_same_registry(beside, load_registry(path, helper=False))


_READY = "import os, time; os.write(1, bytes(8)); "
BROKEN: dict[str, tuple[tuple[str, ...], str | None]] = {
    "cannot start": (("/nonexistent/python3",), "validation helper not started"),
    "ends after its ready frame": ((sys.executable, "-c", _READY), "validation helper stopped"),
    "answers junk": (
        (
            sys.executable,
            "-c",
            _READY + "os.write(1, (5).to_bytes(8, 'little') + b'junk!'); time.sleep(60)",
        ),
        "validation helper stopped",
    ),
    "answers with a frame cut short": (
        (sys.executable, "-c", _READY + "os.write(1, (99).to_bytes(8, 'little') + b'x')"),
        "validation helper stopped",
    ),
    "takes chunks and never answers": (
        (sys.executable, "-c", _READY + "time.sleep(60)"),
        "validation helper stopped",
    ),
    "never ready": ((sys.executable, "-c", "import time; time.sleep(60)"), None),
}


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_a_helper_that_fails_only_costs_time(
    how: str,
    started: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    document: dict[str, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The loader finishes the chunks itself, logs why, and the helper does not outlive
    the load (killed when it does not end as its input closes)."""
    command, warning = BROKEN[how]
    monkeypatch.setattr(helper_module, "COMMAND", command)
    monkeypatch.setattr(helper_module, "REPLY_TIMEOUT_S", 0.5)
    monkeypatch.setattr(helper_module, "EXIT_TIMEOUT_S", 0.5)
    if how == "never ready":
        monkeypatch.setattr(helper_module, "START_TIMEOUT_S", 0.0)
        monkeypatch.setattr(Helper, "ready", REAL_READY)  # do not wait for it
    path = _file(tmp_path / "r.json.gz", _varied(document))
    with caplog.at_level(logging.INFO, logger="matcher.registry"):
        beside = load_registry(path, helper=True)
    assert_same_registry(beside, load_registry(path, helper=False))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if warning is not None:
        assert any(w.startswith(warning) for w in warnings), warnings
    assert all(process.poll() is not None for process in started)


def test_the_helper_starts_from_its_size_of_text(
    monkeypatch: pytest.MonkeyPatch, document: dict[str, Any], tmp_path: Path
) -> None:
    """From `HELPER_MIN_BYTES` of text (a gzip file's from its trailer), not below; and
    never when the caller says no."""
    path = _file(tmp_path / "r.json.gz", document)
    text = len(gzip.decompress(path.read_bytes()))
    starts: list[int] = []
    real_start = Helper.start.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(
        Helper, "start", classmethod(lambda cls: starts.append(1) or real_start(cls))
    )
    for minimum, helper, expected in ((text, True, 1), (text + 1, True, 0), (0, False, 0)):
        starts.clear()
        monkeypatch.setattr(loader, "HELPER_MIN_BYTES", minimum)
        load_registry(path, helper=helper)
        assert len(starts) == expected, (minimum, helper)


def test_the_setting_reaches_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """MATCHER_VALIDATION_HELPER=false: the service loads its snapshot on one process."""
    seen: list[bool] = []
    monkeypatch.setattr("matcher.http.state.load_snapshot", lambda *args: seen.append(args[4]))
    monkeypatch.setenv("MATCHER_VALIDATION_HELPER", "false")
    settings_loader(Settings())()
    monkeypatch.setenv("MATCHER_VALIDATION_HELPER", "true")
    settings_loader(Settings())()
    assert seen == [False, True]


def test_the_helper_imports_no_compiler() -> None:
    """It only builds columns: numba (~0.3 s to import) stays out of its start-up."""
    code = "import sys, matcher.registry.helper; sys.exit('numba' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
