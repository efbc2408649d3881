"""The snapshot cache: validated once, read back verified, never stale, written atomically."""

from __future__ import annotations

import gzip
import json
import signal
import threading
import time
from pathlib import Path

import pytest

from matcher.registry import cache, loader
from matcher.registry.columns import Registry
from matcher.registry.demo import generate
from matcher.registry.loader import load_registry
from matcher.vocabulary.errors import SnapshotError
from tests.test_snapshot_loader import assert_same_registry


@pytest.fixture(scope="module")
def small() -> Registry:
    """Listings with every text column coded or packed (generated names repeat)."""
    return generate(400, seed=5)


def _write(path: Path, registry: Registry) -> Path:
    path.write_bytes(gzip.compress(json.dumps(registry.snapshot_dict()).encode(), mtime=0))
    return path


class Validations:
    """Counts the files validated (parsed and checked, not read from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = loader._load_source

        def counted(path: Path, raw: bytes | None, helper: bool = False) -> Registry:
            self.count += 1
            return original(path, raw, helper)

        monkeypatch.setattr(loader, "_load_source", counted)


@pytest.fixture()
def validations(monkeypatch: pytest.MonkeyPatch) -> Validations:
    return Validations(monkeypatch)


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{cache.SUFFIX}"))


def test_a_second_load_reads_the_cache_and_gives_the_same_registry(
    small: Registry, tmp_path: Path, validations: Validations
) -> None:
    path, folder = _write(tmp_path / "r.json.gz", small), tmp_path / "cache"
    first = load_registry(path, folder)
    second = load_registry(path, folder)
    assert validations.count == 1
    assert_same_registry(second, first)
    assert_same_registry(second, small)
    assert second.row_of(small.ids[17]) == 17


def test_an_entry_is_written_whole_and_nothing_else_is_left(
    small: Registry, tmp_path: Path
) -> None:
    folder = tmp_path / "cache"
    load_registry(_write(tmp_path / "r.json.gz", small), folder)
    (entry,) = _entries(folder)
    assert [p.name for p in folder.iterdir() if p.suffix == ".tmp"] == []
    assert entry.read_bytes().startswith(cache.MAGIC)
    assert folder.stat().st_mode & 0o777 == 0o700


def test_changed_content_is_a_new_entry_never_a_stale_one(
    small: Registry, tmp_path: Path, validations: Validations
) -> None:
    """The key is the file's bytes: one value changed, the file is validated again."""
    path, folder = tmp_path / "r.json", tmp_path / "cache"
    document = small.snapshot_dict()
    path.write_text(json.dumps(document))
    before = load_registry(path, folder)
    document["listings"][3]["age_max"] -= 1
    path.write_text(json.dumps(document))
    after = load_registry(path, folder)
    assert validations.count == 2 and len(_entries(folder)) == 2
    assert after.version != before.version and int(after.age_max[3]) == int(small.age_max[3]) - 1


def test_changed_code_does_not_reuse_an_entry(
    small: Registry, tmp_path: Path, validations: Validations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries are keyed by the code and data that build columns, too."""
    path, folder = _write(tmp_path / "r.json.gz", small), tmp_path / "cache"
    load_registry(path, folder)
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "another version of the loader")
    load_registry(path, folder)
    assert validations.count == 2


@pytest.mark.parametrize(
    "damage",
    [
        "flip a bit of lat",  # the digest check catches it
        "flip a bit of the ids",
        "flip a bit of a coded column's codes",
        "truncate",  # an array cannot be read whole
        "garbage",  # not an entry at all
        "empty",
        "another key in the header",  # an entry renamed onto this key
    ],
)
def test_a_damaged_entry_is_never_trusted(
    small: Registry, tmp_path: Path, validations: Validations, damage: str
) -> None:
    """The file is validated again, the registry is right, and a good entry replaces it."""
    path, folder = _write(tmp_path / "r.json.gz", small), tmp_path / "cache"
    load_registry(path, folder)
    (entry,) = _entries(folder)
    data = bytearray(entry.read_bytes())
    if damage.startswith("flip"):
        array = {"lat": "lat", "ids": "ids.data", "codes": "svc_code.codes"}[damage.split()[-1]]
        data[_array_start(data, array) + 3] ^= 0x01
    elif damage == "truncate":
        del data[len(data) // 2 :]
    elif damage == "garbage":
        data[:] = b"not a registry" * 100
    elif damage == "empty":
        data.clear()
    else:
        data[:] = data.replace(entry.name.removesuffix(cache.SUFFIX).encode(), b"0" * 64, 1)
    entry.write_bytes(bytes(data))
    assert_same_registry(load_registry(path, folder), small)
    assert validations.count == 2
    assert_same_registry(load_registry(path, folder), small)
    assert validations.count == 2  # the rewritten entry is good


def _array_start(data: bytearray, name: str) -> int:
    """Where the named array's bytes begin in an entry (from its header)."""
    size = int.from_bytes(data[len(cache.MAGIC) : len(cache.MAGIC) + 8], "little")
    header_end = len(cache.MAGIC) + 8 + size
    header = json.loads(bytes(data[len(cache.MAGIC) + 8 : header_end]))
    (entry,) = [a for a in header["arrays"] if a["name"] == name]
    return cache._aligned(header_end) + int(entry["offset"])


def test_a_refused_snapshot_leaves_no_entry(small: Registry, tmp_path: Path) -> None:
    path, folder = tmp_path / "bad.json", tmp_path / "cache"
    document = small.snapshot_dict()
    document["listings"][0]["age_min"] = 99
    path.write_text(json.dumps(document))
    for _ in range(2):  # refused each time, from the file
        with pytest.raises(SnapshotError, match="refused"):
            load_registry(path, folder)
    assert _entries(folder) == []


def test_an_untrusted_folder_is_not_used(
    small: Registry, tmp_path: Path, validations: Validations
) -> None:
    """A world-writable folder could hold planted entries: it is ignored (loads still work)."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o777)
    path = _write(tmp_path / "r.json.gz", small)
    for _ in range(2):
        assert_same_registry(load_registry(path, folder), small)
    assert validations.count == 2 and _entries(folder) == []


def test_old_entries_are_evicted(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    for seed in range(cache.MAX_ENTRIES + 2):
        load_registry(_write(tmp_path / f"r{seed}.json.gz", generate(30, seed)), folder)
    assert len(_entries(folder)) == cache.MAX_ENTRIES


def test_processes_loading_the_same_new_file_validate_it_once(
    small: Registry, tmp_path: Path, validations: Validations
) -> None:
    """As workers reloading together: one validates under the lock, the others read."""
    path, folder = _write(tmp_path / "r.json.gz", small), tmp_path / "cache"
    versions: list[str] = []
    threads = [
        threading.Thread(target=lambda: versions.append(load_registry(path, folder).version))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert versions == [small.version] * 3
    assert validations.count == 1


def test_default_folder_follows_xdg_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.default_folder() == tmp_path / "xdg" / "matcher" / "snapshots"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    assert cache.default_folder() is None  # a service account: no cache unless configured
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.default_folder() == tmp_path / ".cache" / "matcher" / "snapshots"


@pytest.mark.slow
def test_serve_validates_once_and_its_workers_read_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`matcher serve --workers 2`: the parent's fail-fast check validates and saves; no
    worker validates at start. A SIGHUP reload of a new file is validated by one worker."""
    from tests.test_http_helpers import wait_until, write_registry
    from tests.test_http_server import serve

    folder = tmp_path / "cache"
    monkeypatch.setenv("MATCHER_SNAPSHOT_CACHE_DIR", str(folder))
    registry = tmp_path / "registry.json.gz"
    write_registry(registry, 1500, seed=4)
    new_version = write_registry(tmp_path / "b.json.gz", 1500, seed=5)

    read, validated = "snapshot read from the validated cache", "snapshot validated"
    with serve(tmp_path, registry, "--workers", "2") as served:

        def count(msg: str, trigger: str | None = None) -> int:
            return sum(x["msg"] == msg and x.get("trigger", trigger) == trigger
                       for x in served.lines())  # fmt: skip

        wait_until(lambda: count("snapshot loaded", "startup") == 2, timeout_s=60)
        assert count(validated) == 0 and count(read) == 2
        assert len(_entries(folder)) == 1
        time.sleep(0.5)  # each worker installs its SIGHUP handler just after its first load
        registry.write_bytes((tmp_path / "b.json.gz").read_bytes())
        served.proc.send_signal(signal.SIGHUP)  # the supervisor forwards it to each worker
        wait_until(lambda: count("snapshot loaded", "sighup") == 2, timeout_s=60)
        assert {served.version() for _ in range(6)} == {new_version}
        assert count(validated) == 1 and count(read) == 3


def test_the_same_bytes_under_a_gz_name_are_another_entry(small: Registry, tmp_path: Path) -> None:
    """Plain JSON bytes cached from `r.json` must not make `r.json.gz` (not gzip) load."""
    folder = tmp_path / "cache"
    plain = tmp_path / "r.json"
    plain.write_text(json.dumps(small.snapshot_dict()))
    load_registry(plain, folder)
    mislabelled = tmp_path / "r.json.gz"
    mislabelled.write_bytes(plain.read_bytes())
    with pytest.raises(SnapshotError, match="not valid gzip"):
        load_registry(mislabelled, folder)
