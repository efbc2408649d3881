"""Init container: put one pod's registry snapshot in place, checked, or fail the pod.

Run by the matcher image's own python3 (standard library only) before the service starts,
so a pod either serves exactly the snapshot version its Deployment names or never becomes
ready (the rollout then stalls and the old pods keep serving). Configured by environment:

    SNAPSHOT_SOURCE      volume | command (copy SNAPSHOT_PATH) or url (download SNAPSHOT_URL)
    SNAPSHOT_VERSION     the snapshot_version the file must have ("sha256:<16 hex>")
    SNAPSHOT_DEST        where the service reads it (MATCHER_REGISTRY_PATH)
    SNAPSHOT_SHA256      optional sha256 of the file itself, checked before it is parsed
    SNAPSHOT_MAX_BYTES   refuse larger files (default 2 GB)
    SNAPSHOT_URL, SNAPSHOT_TIMEOUT_S, SNAPSHOT_AUTHORIZATION_FILE (Authorization header)

Steps: copy or download to a staging file beside the destination (hashing as it goes),
compare the sha256, run `matcher validate-registry` on it (the same validation the server
runs at start) and compare its snapshot_version with SNAPSHOT_VERSION, then rename it into
place. Prints one JSON line; exits 1 with the reason on any mismatch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
ATTEMPTS = 3


class FetchError(Exception):
    """The snapshot could not be fetched or is not the one asked for."""


def _chunks(stream: BinaryIO, limit: int) -> Iterator[bytes]:
    total = 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
        if total > limit:
            raise FetchError(f"snapshot larger than SNAPSHOT_MAX_BYTES ({limit})")
        yield chunk


def _copy(stream: BinaryIO, staging: Path, limit: int) -> str:
    """Write `stream` to `staging`; its sha256 (hex)."""
    digest = hashlib.sha256()
    with staging.open("wb") as out:
        for chunk in _chunks(stream, limit):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _download(env: Mapping[str, str], staging: Path, limit: int) -> str:
    """GET SNAPSHOT_URL into `staging` (three attempts, backing off); its sha256."""
    url = env["SNAPSHOT_URL"]
    if not url.startswith(("https://", "http://127.0.0.1")):  # plain HTTP: loopback only
        raise FetchError("SNAPSHOT_URL must be https://")
    headers = {}
    auth_file = env.get("SNAPSHOT_AUTHORIZATION_FILE")
    if auth_file:
        headers["Authorization"] = Path(auth_file).read_text().strip()
    timeout = float(env.get("SNAPSHOT_TIMEOUT_S", "120"))
    for attempt in range(1, ATTEMPTS + 1):
        try:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked)
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return _copy(response, staging, limit)
        except OSError as exc:  # URLError, HTTPError and timeouts are all OSErrors
            if attempt == ATTEMPTS or getattr(exc, "code", 500) < 500:
                raise FetchError(f"download failed: {exc}") from exc
            time.sleep(2**attempt)
    raise AssertionError("unreachable")


def _snapshot_version(path: Path) -> str:
    """The snapshot_version `matcher validate-registry` reports for `path` (fails if invalid)."""
    proc = subprocess.run(  # noqa: S603 (our own CLI, a path we wrote)
        ["matcher", "validate-registry", str(path)],  # noqa: S607 (the image's PATH)
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise FetchError(f"the snapshot is invalid: {proc.stderr.strip()[-2000:]}")
    return str(json.loads(proc.stdout)["snapshot_version"])


def fetch(env: Mapping[str, str]) -> dict[str, object]:
    """Fetch, check and place the snapshot; what was placed."""
    source = env["SNAPSHOT_SOURCE"]
    expected = env["SNAPSHOT_VERSION"]
    dest = Path(env["SNAPSHOT_DEST"])
    limit = int(env.get("SNAPSHOT_MAX_BYTES", "2000000000"))
    staging_dir = dest.parent / ".staging"
    staging_dir.mkdir(parents=True, exist_ok=True)
    staging = staging_dir / dest.name  # same name: the loader reads .json / .json.gz by suffix
    started = time.monotonic()
    try:
        if source in ("volume", "command"):
            with Path(env["SNAPSHOT_PATH"]).open("rb") as stream:
                sha256 = _copy(stream, staging, limit)
        elif source == "url":
            sha256 = _download(env, staging, limit)
        else:
            raise FetchError(f"unknown SNAPSHOT_SOURCE {source!r}")
        wanted_sha = env.get("SNAPSHOT_SHA256", "")
        if wanted_sha and wanted_sha != sha256:
            raise FetchError(f"file sha256 {sha256} is not SNAPSHOT_SHA256 {wanted_sha}")
        version = _snapshot_version(staging)
        if version != expected:
            raise FetchError(f"snapshot_version {version} is not SNAPSHOT_VERSION {expected}")
        os.replace(staging, dest)
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
    return {
        "snapshot_version": version,
        "sha256": sha256,
        "bytes": dest.stat().st_size,
        "dest": str(dest),
        "seconds": round(time.monotonic() - started, 2),
    }


def main() -> int:
    """Run from the environment; 0 when the snapshot is in place, 1 otherwise."""
    try:
        print(json.dumps({"fetched": fetch(os.environ)}))
    except (FetchError, OSError, KeyError, ValueError) as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
