"""Snapshot reload: atomic under load, serialised, refused whole when invalid, file watch."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from matcher.http import triggers
from matcher.http.app import create_app
from matcher.http.state import SnapshotHolder
from matcher.service import Limits, Snapshot
from matcher.settings import Settings
from matcher.vocabulary.errors import SnapshotError
from tests.test_http_helpers import (
    TestClient,
    live_server,
    shortlist_body,
    small_snapshot,
    wait_until,
    write_registry,
)

ADMIN = "reload-admin"
BEARER = {"Authorization": f"Bearer {ADMIN}"}
THREADS = 8
PER_THREAD = 200


@pytest.fixture
def registries(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    """A registry file holding version A, and the version B it will be rewritten to."""
    path = tmp_path / "registry.json"
    version_b = write_registry(tmp_path / "b.json", 300, seed=12)
    version_a = write_registry(path, 300, seed=11)
    assert version_a != version_b
    yield path, version_a, version_b


def _replace_with_b(path: Path) -> None:
    path.write_bytes((path.parent / "b.json").read_bytes())


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _one_bad_listing(path: Path) -> None:
    document = json.loads((path.parent / "b.json").read_text())
    document["listings"][123]["age_min"] = 99  # one bad listing among 300, the rest valid
    path.write_text(json.dumps(document))


# fmt: off
RELOADS = [
    # (file name, how the file changes, what the refusal says; None: the reload succeeds)
    ("registry.json", _replace_with_b, None),  # a valid new snapshot
    ("registry.json", _truncate, "not valid JSON"),  # cut off mid-document
    ("registry.json", _one_bad_listing, "listings[123]"),  # valid JSON, one bad listing
    ("registry.json", Path.unlink, "not found"),  # the file is gone
    ("registry.json.gz", _replace_with_b, "not valid gzip"),  # plain JSON named .gz
]
# fmt: on


@pytest.mark.parametrize(("name", "change", "refusal"), RELOADS)
def test_reload_under_load_loses_no_request_and_never_mixes_versions(
    tmp_path: Path, name: str, change: Callable[[Path], object], refusal: str | None
) -> None:
    """8 threads x 200 shortlists against a real server while the file changes and a reload
    is asked for: every request answers 200; each thread sees version A and then, only if
    the reload succeeds, version B; a refused reload names the file and its first problem
    and version A keeps serving."""
    path = tmp_path / name
    version_b = write_registry(tmp_path / "b.json", 300, seed=12)
    version_a = write_registry(path, 300, seed=11)
    app = create_app(Settings(registry_path=path, admin_token=ADMIN))
    body = shortlist_body(explain=False, limit=5)
    seen: list[list[str]] = [[] for _ in range(THREADS)]
    statuses: list[int] = []
    done = threading.Semaphore(0)
    lock = threading.Lock()

    with live_server(app) as url:
        wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, timeout_s=20)

        def hammer(k: int) -> None:
            with httpx.Client(base_url=url, timeout=10) as client:
                for i in range(PER_THREAD):
                    r = client.post("/v1/shortlist", json=body)
                    with lock:
                        statuses.append(r.status_code)
                    if r.status_code == 200:
                        seen[k].append(r.json()["snapshot_version"])
                    if i == PER_THREAD // 4:
                        done.release()

        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(hammer, k) for k in range(THREADS)]
            for _ in range(THREADS):  # every thread is a quarter through
                assert done.acquire(timeout=30)
            change(path)
            reload = httpx.post(f"{url}/v1/admin/reload", headers=BEARER, timeout=30)
            for f in futures:
                f.result(timeout=60)
        final = httpx.get(f"{url}/readyz").json()["snapshot_version"]

    assert statuses == [200] * (THREADS * PER_THREAD)
    if refusal is not None:
        assert reload.status_code == 422, reload.text
        error = reload.json()["error"]
        assert error["code"] == "invalid_snapshot"
        assert refusal in json.dumps(error)
        assert path.name in error["message"]  # the file is named
        assert final == version_a
        assert all(set(versions) == {version_a} for versions in seen)
        return
    assert reload.status_code == 200, reload.text
    assert reload.json()["old_snapshot_version"] == version_a
    assert reload.json()["new_snapshot_version"] == version_b
    assert final == version_b
    for versions in seen:
        assert set(versions) <= {version_a, version_b}
        switched = versions.index(version_b) if version_b in versions else len(versions)
        assert versions[:switched] == [version_a] * switched  # A... then B..., never back
        assert versions[switched:] == [version_b] * (len(versions) - switched)
    assert any(version_a in v for v in seen)
    assert any(version_b in v for v in seen)


def test_a_refused_snapshot_answers_422_and_the_old_one_keeps_serving(
    registries: tuple[Path, str, str],
) -> None:
    path, version_a, _ = registries
    with TestClient(create_app(Settings(registry_path=path, admin_token=ADMIN))) as c:
        wait_until(lambda: c.get("/readyz").status_code == 200, timeout_s=20)
        text = path.read_bytes()
        path.write_bytes(text[: len(text) // 2])  # truncated mid-document
        r = c.post("/v1/admin/reload", headers=BEARER)
        assert r.status_code == 422
        err = r.json()["error"]
        assert err["code"] == "invalid_snapshot"
        assert "not valid JSON" in err["message"]
        assert c.get("/readyz").json()["snapshot_version"] == version_a
        assert c.post("/v1/shortlist", json=shortlist_body()).json()["snapshot_version"] == (
            version_a
        )
        metrics = c.get("/metrics").text
    assert 'matcher_snapshot_reloads_total{outcome="refused"} 1.0' in metrics


def test_a_snapshot_failing_validation_lists_its_problems(
    registries: tuple[Path, str, str],
) -> None:
    path, version_a, _ = registries
    text = path.read_text()
    with TestClient(create_app(Settings(registry_path=path, admin_token=ADMIN))) as c:
        wait_until(lambda: c.get("/readyz").status_code == 200, timeout_s=20)
        path.write_text(text.replace('"age_min":', '"age_min_typo":', 2))
        r = c.post("/v1/admin/reload", headers=BEARER)
        assert r.status_code == 422
        details = r.json()["error"]["details"]
        assert len(details) >= 2
        assert all(d["field"].startswith("listings[") for d in details)
        assert c.get("/readyz").json()["snapshot_version"] == version_a


def test_reloads_never_overlap() -> None:
    """Two reloads at once: the second waits for the first (the lock)."""
    active = 0
    most = 0
    guard = threading.Lock()

    def slow_loader() -> Snapshot:
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        time.sleep(0.1)
        with guard:
            active -= 1
        return small_snapshot()

    from matcher.bids.contract_terms import terms_book

    holder = SnapshotHolder(slow_loader, Limits(), terms_book())
    threads = [threading.Thread(target=holder.reload) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert most == 1
    assert holder.require().snapshot is small_snapshot()


def test_a_request_keeps_the_matcher_it_started_with() -> None:
    from matcher.bids.contract_terms import terms_book

    other = Snapshot(index=small_snapshot().index, source="other")
    snapshots = iter([small_snapshot(), other])
    holder = SnapshotHolder(lambda: next(snapshots), Limits(), terms_book())
    holder.reload()
    in_flight = holder.require()
    holder.reload()
    assert in_flight.snapshot.source == "test"
    assert holder.require().snapshot.source == "other"


def test_a_failed_load_keeps_the_old_matcher_and_records_the_error() -> None:
    from matcher.bids.contract_terms import terms_book

    def refuse() -> Snapshot:
        raise SnapshotError("refused for the test")

    holder = SnapshotHolder(refuse, Limits(), terms_book())
    holder.install(small_snapshot())
    before = holder.require()
    assert holder.reload_logged("test") is None
    assert holder.require() is before
    assert isinstance(holder.last_error, SnapshotError)


def test_watched_file_reloads_when_it_changes(
    registries: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, version_a, version_b = registries
    monkeypatch.setattr(triggers, "WATCH_INTERVAL_S", 0.05)
    settings = Settings(registry_path=path, watch_registry=True)
    with TestClient(create_app(settings)) as c:

        def version() -> Any:
            r = c.get("/readyz")
            return r.status_code == 200 and r.json()["snapshot_version"]

        assert wait_until(version, timeout_s=20) == version_a
        path.write_bytes((path.parent / "b.json").read_bytes())
        wait_until(lambda: version() == version_b, timeout_s=20)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_serving_processes_cap_their_malloc_arenas() -> None:
    """The cap the soak measured (fewer arenas, less RSS kept across reloads) is really set:
    glibc's mallopt answers 1 on success. Run in a child, so this process is left as it was."""
    code = "from matcher.http.state import limit_malloc_arenas; print(limit_malloc_arenas())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "True"


FREEZE_CHECK = """
import gc, sys, weakref
from pathlib import Path
from matcher.bids.contract_terms import terms_book
from matcher.http.state import SnapshotHolder
from matcher.service import Limits, load_snapshot
from matcher.bids.request import RankRequest
from matcher.match.request import ShortlistRequest
from tests.test_http_helpers import shortlist_body, write_registry

folder = Path(sys.argv[1])
paths = [folder / "a.json", folder / "b.json", folder / "a.json"]
write_registry(paths[0], 300, seed=11)
write_registry(paths[1], 300, seed=12)
loads = iter(paths)
holder = SnapshotHolder(lambda: load_snapshot(next(loads)), Limits(), terms_book())
holder.reload()
first = weakref.ref(holder.require().snapshot)
registry = weakref.ref(holder.require().snapshot.index.registry)
# Answer from it first: what answers cache per snapshot (listing texts) must not keep it.
matcher = holder.require()
found = matcher.shortlist_answer(ShortlistRequest.model_validate(shortlist_body()))
bids = [{"bid_id": f"B{i}", "listing_id": e["listing_id"], "weekly_fee_gbp": "1.00"}
        for i, e in enumerate(found.data()["shortlist"][:3])] or [
        {"bid_id": "B0", "listing_id": "L-none", "weekly_fee_gbp": "1.00"}]
matcher.rank_answer(RankRequest.model_validate(shortlist_body(bids=bids))).json()
del matcher, found
tracked = {id(o) for o in gc.get_objects()}
print(gc.get_freeze_count() > 0, id(first()) in tracked, id(first().index) in tracked)
holder.reload()
holder.reload()
print(first() is None, registry() is None)
"""


def test_a_swap_freezes_the_serving_snapshot_and_frees_the_old_one(tmp_path: Path) -> None:
    """After a reload the collector no longer walks the serving snapshot (frozen: no
    full-collection pauses over it), and the snapshot it replaced is still freed (unfrozen
    first), its registry too although answers cached text of its listings. Run in a child:
    freezing changes the whole process."""
    out = subprocess.run(
        [sys.executable, "-c", FREEZE_CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert out.stdout.split() == ["True", "False", "False", "True", "True"], out.stderr


def test_request_threads_set_the_threadpool_tokens() -> None:
    """MATCHER_REQUEST_THREADS is what the plain-`def` routes get: the default limiter's
    tokens in the serving event loop."""
    import anyio.to_thread

    for threads in (1, 3):
        app = create_app(Settings(request_threads=threads), snapshot=small_snapshot())
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            tokens = client.portal.call(
                lambda: anyio.to_thread.current_default_thread_limiter().total_tokens
            )
        assert tokens == threads


def _large_shortlist_body() -> dict[str, Any]:
    """A shortlist body above the event loop's size limit (padded with excluded ids that
    name no listing, which change nothing else)."""
    from matcher.http.routes_match import INLINE_MAX_BODY_BYTES

    ids = [f"NO-SUCH-LISTING-{i:05d}" for i in range(INLINE_MAX_BODY_BYTES // 20)]
    body = shortlist_body(explain=False, limit=5, exclude_listing_ids=ids)
    assert len(json.dumps(body)) > INLINE_MAX_BODY_BYTES
    return body


def test_one_large_request_computes_at_a_time_and_probes_never_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bodies above INLINE_MAX_BODY_BYTES compute on the request threads: with
    MATCHER_REQUEST_THREADS=1 two such shortlists run one after the other (the second
    starts when the first ends), while /healthz and /readyz, served on the event loop,
    answer at once: a liveness probe never queues behind large matching work."""
    from matcher.service import Matcher

    real = Matcher.shortlist_answer
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def slow(self: Matcher, req: Any) -> Any:
        start = time.monotonic()
        time.sleep(0.6)  # releases the interpreter lock: only the limiter serialises
        answer = real(self, req)
        with lock:
            spans.append((start, time.monotonic()))
        return answer

    monkeypatch.setattr(Matcher, "shortlist_answer", slow)
    app = create_app(Settings(request_threads=1), snapshot=small_snapshot())
    body = _large_shortlist_body()
    with live_server(app) as url, ThreadPoolExecutor(2) as pool:
        posts = [pool.submit(httpx.post, f"{url}/v1/shortlist", json=body, timeout=10)
                 for _ in range(2)]  # fmt: skip
        time.sleep(0.2)  # the first is computing, the second waiting for the thread
        for probe in ("/healthz", "/readyz"):
            t = time.monotonic()
            assert httpx.get(f"{url}{probe}", timeout=5).status_code == 200
            assert time.monotonic() - t < 0.3, probe
        assert [p.result().status_code for p in posts] == [200, 200]
    (_, first_end), (second_start, _) = sorted(spans)
    assert second_start >= first_end - 0.01


def test_small_requests_compute_on_the_event_loop_and_large_ones_on_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small shortlist, rank and compare run on the event loop's thread (no hand-off);
    the same shortlist padded above INLINE_MAX_BODY_BYTES runs on another thread; the
    small and the padded shortlist list the same listings."""
    import asyncio

    from matcher.service import Matcher

    on_loop: list[tuple[str, bool]] = []

    def watch(name: str) -> None:
        real = getattr(Matcher, name)

        def recorded(self: Matcher, req: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop.append((name, True))
            except RuntimeError:
                on_loop.append((name, False))
            return real(self, req)

        monkeypatch.setattr(Matcher, name, recorded)

    for name in ("shortlist_answer", "rank_answer", "compare_answer"):
        watch(name)
    app = create_app(snapshot=small_snapshot())
    small = shortlist_body(explain=False, limit=5)
    with TestClient(app) as client:
        first = client.post("/v1/shortlist", json=small)
        assert first.status_code == 200, first.text
        listing = first.json()["shortlist"][0]["listing_id"]
        bids = [{"bid_id": "b1", "listing_id": listing, "weekly_fee_gbp": "1000.00"}]
        ranked = client.post("/v1/rank", json={**small, "bids": bids})
        assert ranked.status_code == 200, ranked.text
        pair = {"request": {**small, "bids": bids},
                "a": {"profile": "cost_focused"}, "b": {"profile": "balanced"}}  # fmt: skip
        compared = client.post("/v1/rank/compare", json=pair)
        assert compared.status_code == 200, compared.text
        padded = client.post("/v1/shortlist", json=_large_shortlist_body())
        assert padded.status_code == 200, padded.text
    assert on_loop == [("shortlist_answer", True), ("rank_answer", True),
                       ("compare_answer", True), ("shortlist_answer", False)]  # fmt: skip
    assert [e["listing_id"] for e in padded.json()["shortlist"]] == [
        e["listing_id"] for e in first.json()["shortlist"]
    ]
