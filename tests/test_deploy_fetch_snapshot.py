"""The chart's init-container script (deploy/helm/matcher/files/fetch-snapshot.py) places
exactly the snapshot version the Deployment names, from a volume or over HTTP, and places
nothing when the file's hash, its snapshot_version or the download is wrong.

Run as the pod runs it: a subprocess with only its environment, calling the real
`matcher validate-registry`; the download is served on 127.0.0.1 by a thread of this test.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "deploy" / "helm" / "matcher" / "files" / "fetch-snapshot.py"
BIN = Path(sys.executable).parent
TOKEN = "Bearer test-object-store-token"  # noqa: S105 (a loopback test server's)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A small generated snapshot: (file, its snapshot_version, its sha256)."""
    path = tmp_path_factory.mktemp("source") / "registry-a.json.gz"
    proc = subprocess.run(
        [BIN / "matcher", "demo-registry", "--listings", "300", "--seed", "3", "--out", path],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    version = json.loads(proc.stderr.strip().splitlines()[-1])["snapshot_version"]
    return path, version, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def server(snapshot: tuple[Path, str, str]) -> Iterator[str]:
    """http://127.0.0.1:PORT serving the snapshot at /registry.json.gz to the right token."""
    body = snapshot[0].read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != TOKEN:
                self.send_error(403)
            elif self.path != "/registry.json.gz":
                self.send_error(404)
            else:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The script with only `env` (and PATH to the image's `matcher`)."""
    return subprocess.run(
        [sys.executable, SCRIPT],
        env={"PATH": f"{BIN}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_from_a_volume(snapshot: tuple[Path, str, str], tmp_path: Path) -> None:
    """Copied, hash and version checked, placed under the name the service reads."""
    path, version, sha = snapshot
    dest = tmp_path / "registry.json.gz"
    env = {"SNAPSHOT_SOURCE": "volume", "SNAPSHOT_PATH": str(path), "SNAPSHOT_SHA256": sha}
    proc = run({**env, "SNAPSHOT_VERSION": version, "SNAPSHOT_DEST": str(dest)})
    assert proc.returncode == 0, proc.stderr
    fetched = json.loads(proc.stdout)["fetched"]
    assert (fetched["snapshot_version"], fetched["sha256"]) == (version, sha)
    assert dest.read_bytes() == path.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["registry.json.gz"]  # no staging left


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"SNAPSHOT_VERSION": "sha256:0000000000000000"}, "is not SNAPSHOT_VERSION"),
        ({"SNAPSHOT_SHA256": "0" * 64}, "is not SNAPSHOT_SHA256"),
        ({"SNAPSHOT_MAX_BYTES": "1000"}, "larger than SNAPSHOT_MAX_BYTES"),
        ({"SNAPSHOT_PATH": "/nonexistent/registry.json.gz"}, "No such file"),
    ],
)
def test_wrong_snapshot_is_not_placed(
    snapshot: tuple[Path, str, str], tmp_path: Path, override: dict[str, str], reason: str
) -> None:
    """Another version, a corrupted file, an oversized one, a missing one: exit 1, no file."""
    path, version, _ = snapshot
    dest = tmp_path / "registry.json.gz"
    env = {"SNAPSHOT_SOURCE": "volume", "SNAPSHOT_PATH": str(path), "SNAPSHOT_VERSION": version}
    proc = run({**env, "SNAPSHOT_DEST": str(dest), **override})
    assert proc.returncode == 1
    assert reason in json.loads(proc.stderr)["error"]
    assert list(tmp_path.iterdir()) == []


def test_invalid_snapshot_is_not_placed(tmp_path: Path) -> None:
    """A file the service would refuse fails here, with validate-registry's reason."""
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "listings": [{"id": ""}]}')
    dest = tmp_path / "out" / "registry.json"
    env = {"SNAPSHOT_SOURCE": "volume", "SNAPSHOT_PATH": str(bad), "SNAPSHOT_DEST": str(dest)}
    proc = run({**env, "SNAPSHOT_VERSION": "sha256:0000000000000000"})
    assert proc.returncode == 1
    assert "the snapshot is invalid" in json.loads(proc.stderr)["error"]
    assert not dest.exists()


def test_from_an_object_store_url(
    snapshot: tuple[Path, str, str], server: str, tmp_path: Path
) -> None:
    """Downloaded with the Authorization header from the mounted secret file."""
    path, version, sha = snapshot
    auth = tmp_path / "authorization"
    auth.write_text(TOKEN + "\n")
    dest = tmp_path / "snapshot" / "registry.json.gz"
    env = {"SNAPSHOT_SOURCE": "url", "SNAPSHOT_URL": server + "/registry.json.gz"}
    env |= {"SNAPSHOT_AUTHORIZATION_FILE": str(auth), "SNAPSHOT_SHA256": sha}
    proc = run({**env, "SNAPSHOT_VERSION": version, "SNAPSHOT_DEST": str(dest)})
    assert proc.returncode == 0, proc.stderr
    assert dest.read_bytes() == path.read_bytes()


def test_refused_download_is_not_retried_or_placed(server: str, tmp_path: Path) -> None:
    """A 403 (wrong credentials) fails at once; no file."""
    dest = tmp_path / "registry.json.gz"
    env = {"SNAPSHOT_SOURCE": "url", "SNAPSHOT_URL": server + "/registry.json.gz"}
    proc = run({**env, "SNAPSHOT_VERSION": "sha256:0000000000000000", "SNAPSHOT_DEST": str(dest)})
    assert proc.returncode == 1
    assert "403" in json.loads(proc.stderr)["error"]
    assert not dest.exists()


def test_plain_http_only_to_loopback(tmp_path: Path) -> None:
    """An http:// URL off the pod is refused before any connection."""
    env = {"SNAPSHOT_SOURCE": "url", "SNAPSHOT_URL": "http://snapshots.example.org/r.json.gz"}
    dest = tmp_path / "registry.json.gz"
    proc = run({**env, "SNAPSHOT_VERSION": "sha256:0000000000000000", "SNAPSHOT_DEST": str(dest)})
    assert proc.returncode == 1
    assert "must be https://" in json.loads(proc.stderr)["error"]
