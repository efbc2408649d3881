"""Validated registries saved as their columns, so the next process skips the validation.

`matcher serve` validates the snapshot once (its fail-fast check, in the parent) and saves
the columns here; each worker then reads them back instead of parsing and validating the
file again, and a reload that several workers start at once validates once (the others wait
on a lock and read the result).

An entry is keyed by the sha256 of the snapshot file's bytes, whether they are read as gzip
(from the file's name), and a fingerprint of the code and data that turn them into columns
(`matcher/registry`, `matcher/vocabulary`, `geodata` and its data files): any change to
any of these gives another key. An entry is never trusted as it is: the registry read back
must hash (`Registry.digest`, every column) to the digest recorded when it was written, or
the entry is ignored and the file is validated again. Entries are written to a temporary
file and renamed into place (readers see a whole entry or none), and the least recently
used beyond `MAX_ENTRIES` are removed.

The folder must be trusted like the code: it is created private (0700), and a folder owned
by another user, or writable by everyone, is not used.

File layout: `MAGIC`, the header length (8 bytes, little-endian), the header (JSON: format,
key, digest, `generated_at`, listings, and each array's name, dtype, shape and offset),
then the arrays, each at a 64-byte aligned offset.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from matcher.registry.columns import Csr, Registry
from matcher.registry.strings import CodedStrings, PackedStrings

try:  # POSIX; elsewhere two workers may both validate a reloaded file, which is only slower
    import fcntl
except ImportError:  # pragma: no cover  # not on Linux
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("matcher.registry")

FORMAT = 1  # of the file layout below; bump on any change to it
MAGIC = b"MATCHER-REGISTRY"
SUFFIX = ".registry"
MAX_ENTRIES = 4
_ALIGN = 64
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# What turns a snapshot's bytes into columns: a change here must not reuse old entries.
_FINGERPRINTED = ("matcher/registry", "matcher/vocabulary", "geodata", "geodata/data")


def default_folder() -> Path | None:
    """`$XDG_CACHE_HOME/matcher/snapshots`, else `~/.cache/matcher/snapshots`; None (no
    cache) for an account without a usable home (a container's service user), where the
    only writable place may be a small temporary volume: set the folder explicitly there."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "matcher" / "snapshots"
    home = Path.home()
    if home.is_dir() and os.access(home, os.W_OK):
        return home / ".cache" / "matcher" / "snapshots"
    return None


@cache
def code_fingerprint() -> str:
    """sha256 over the source and data files that validation and column building read."""
    h = hashlib.sha256(f"format {FORMAT}".encode())
    for folder in _FINGERPRINTED:
        for path in sorted((_PACKAGE_ROOT / folder).iterdir()):
            if path.is_file() and path.suffix in (".py", ".csv", ".gz", ".json", ".bin"):
                h.update(f"\n{folder}/{path.name}\n".encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def source_key(raw: bytes, gzipped: bool) -> str:
    """The cache key of a snapshot file's bytes, read as gzip or not (its name says which),
    by the code with `code_fingerprint()`."""
    h = hashlib.sha256(raw)
    h.update(f"\ngzip={gzipped}\n{code_fingerprint()}".encode())
    return h.hexdigest()


def usable_folder(folder: Path) -> bool:
    """Create `folder` (private) if needed; False when it must not or cannot be used."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError as exc:
        log.warning("snapshot cache folder unusable", extra={"fields": _why(folder, exc)})
        return False
    if info.st_uid != os.geteuid() or info.st_mode & stat.S_IWOTH:
        fields = {"cache_folder": str(folder), "reason": "owned by another user or world-writable"}
        log.warning("snapshot cache folder not trusted", extra={"fields": fields})
        return False
    return True


def entry_path(folder: Path, key: str) -> Path:
    """Where the entry for `key` lives."""
    return folder / f"{key}{SUFFIX}"


@contextlib.contextmanager
def exclusive(folder: Path, key: str) -> Iterator[None]:
    """Hold the lock of `key` (other processes validating the same bytes wait here)."""
    if fcntl is None:
        yield
        return
    try:
        handle: IO[bytes] | None = (folder / f"{key}.lock").open("ab")
    except OSError:
        handle = None
    if handle is None:
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read(folder: Path, key: str) -> Registry | None:
    """The registry saved under `key`, or None (no entry, or one that does not verify)."""
    path = entry_path(folder, key)
    try:
        with path.open("rb") as f:
            registry, digest = _read_entry(f, key)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged entry of any kind: validate the file again
        log.warning("snapshot cache entry unreadable; validating the file",
                    extra={"fields": _why(path, exc)})  # fmt: skip
        return None
    if registry.digest != digest:
        log.warning("snapshot cache entry does not verify; validating the file",
                    extra={"fields": {"cache_file": str(path)}})  # fmt: skip
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used: kept longest
    log.info("snapshot read from the validated cache", extra={"fields": {"cache_file": str(path)}})
    return registry


def write(folder: Path, key: str, registry: Registry) -> None:
    """Save `registry` under `key` (atomically); a failure is logged, never raised."""
    path = entry_path(folder, key)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key[:16]}.", suffix=".tmp")
    except OSError as exc:
        log.warning("snapshot cache not written", extra={"fields": _why(path, exc)})
        return
    try:
        with os.fdopen(fd, "wb") as f:
            _write_entry(f, key, registry)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("snapshot cache not written", extra={"fields": _why(path, exc)})
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _evict(folder, keep=path)


def _evict(folder: Path, keep: Path) -> None:
    """Remove the least recently used entries beyond MAX_ENTRIES (never `keep`)."""
    with contextlib.suppress(OSError):
        entries = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [p for p in entries if p != keep][MAX_ENTRIES - 1 :]:
            with contextlib.suppress(OSError):
                old.unlink()
                (folder / f"{old.name.removesuffix(SUFFIX)}.lock").unlink(missing_ok=True)


def _why(path: Path, exc: BaseException) -> dict[str, Any]:
    return {"cache_file": str(path), "error": f"{type(exc).__name__}: {exc}"}


def _arrays(registry: Registry) -> dict[str, npt.NDArray[Any]]:
    """Every column as named arrays (a text column as its buffers)."""
    out: dict[str, npt.NDArray[Any]] = {}
    for f in dataclasses.fields(registry):
        if f.name.startswith("_") or f.name == "generated_at":
            continue
        value = getattr(registry, f.name)
        if isinstance(value, np.ndarray):
            out[f.name] = value
        elif isinstance(value, Csr):
            out[f"{f.name}.offsets"] = value.offsets
        elif isinstance(value, CodedStrings):
            out[f"{f.name}.codes"] = value.codes
            out[f"{f.name}.values.data"] = np.frombuffer(value.values.buffer(), np.uint8)
            out[f"{f.name}.values.offsets"] = value.values.offsets
        elif isinstance(value, PackedStrings):
            out[f"{f.name}.data"] = np.frombuffer(value.buffer(), np.uint8)
            out[f"{f.name}.offsets"] = value.offsets
        else:
            raise TypeError(f"registry column {f.name} cannot be cached: {type(value)}")
    return out


def _write_entry(f: IO[bytes], key: str, registry: Registry) -> None:
    arrays = _arrays(registry)
    layout: list[dict[str, Any]] = []
    offset = 0
    for name, array in arrays.items():
        layout.append({"name": name, "dtype": array.dtype.str, "shape": list(array.shape),
                       "offset": offset})  # fmt: skip
        offset = _aligned(offset + array.nbytes)
    header = json.dumps({
        "format": FORMAT,
        "key": key,
        "digest": registry.digest,
        "generated_at": registry.generated_at.isoformat(),
        "listings": registry.size,
        "arrays": layout,
    }).encode()  # fmt: skip
    start = _aligned(len(MAGIC) + 8 + len(header))
    f.write(MAGIC + len(header).to_bytes(8, "little") + header)
    f.write(b"\0" * (start - f.tell()))
    for entry, array in zip(layout, arrays.values(), strict=True):
        f.write(b"\0" * (start + entry["offset"] - f.tell()))
        f.write(np.ascontiguousarray(array).data)


def _read_entry(f: IO[bytes], key: str) -> tuple[Registry, str]:
    if f.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a matcher registry cache file")
    header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    if header["format"] != FORMAT or header["key"] != key:
        raise ValueError("another format or key")
    start = _aligned(f.tell())
    arrays: dict[str, npt.NDArray[Any]] = {}
    for entry in header["arrays"]:
        array = np.empty(entry["shape"], dtype=np.dtype(entry["dtype"]))
        f.seek(start + entry["offset"])
        if f.readinto(array.data) != array.nbytes:  # type: ignore[attr-defined]  # a raw file
            raise ValueError(f"{entry['name']}: truncated")
        arrays[entry["name"]] = array
    columns: dict[str, Any] = {}
    for f_ in dataclasses.fields(Registry):
        name = f_.name
        if name.startswith("_") or name == "generated_at":
            continue
        if name in arrays:
            columns[name] = arrays.pop(name)
        elif f"{name}.codes" in arrays:
            values = PackedStrings(arrays.pop(f"{name}.values.data").tobytes(),
                                   arrays.pop(f"{name}.values.offsets"))  # fmt: skip
            columns[name] = CodedStrings(arrays.pop(f"{name}.codes"), values)
        elif f"{name}.data" in arrays:
            data = arrays.pop(f"{name}.data").tobytes()
            columns[name] = PackedStrings(data, arrays.pop(f"{name}.offsets"))
        else:
            columns[name] = Csr(arrays.pop(f"{name}.offsets"))
    if arrays:
        raise ValueError(f"unknown arrays: {sorted(arrays)}")
    registry = Registry(generated_at=datetime.fromisoformat(header["generated_at"]), **columns)
    if registry.size != header["listings"]:
        raise ValueError("listing count differs")
    return registry, str(header["digest"])


def _aligned(n: int) -> int:
    return (n + _ALIGN - 1) // _ALIGN * _ALIGN


__all__ = ["default_folder", "exclusive", "read", "source_key", "usable_folder", "write"]
