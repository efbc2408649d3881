"""`matcher serve` replicas behind haproxy (Debian's) on 127.0.0.1: a short bounded
version of `python -m benchmarks.replicas`.

- at a fixed rate over mixed endpoints both replicas answer, nothing fails, and every
  answer's snapshot_version is the one serving;
- a rolling snapshot update of three replicas (drain, replace on the new file, readmit,
  one at a time) under load fails no request, and no pinned client sees the old version
  after the new one (unpinned clients do: the control);
- a replica SIGKILLed under load is taken out by the balancer's health checks within
  seconds, and clients see at most the requests it had in flight fail.

haproxy is installed by .ci/run (and by the harness when run as root).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks.replicas.scenarios import Snapshots, kill, make_snapshots, rolling_update, scaling

pytestmark = pytest.mark.slow
LISTINGS = 2000  # small: a replica is ready in ~2 s


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snapshots]:
    """Two snapshot files with different versions."""
    yield make_snapshots(tmp_path_factory.mktemp("snapshots"), LISTINGS)


def test_fixed_rate_through_the_balancer(snapshots: Snapshots) -> None:
    """150 requests at 50 req/s: all 200, all the serving version, spread over both."""
    [row] = scaling(snapshots, replicas=2, rates=[50], step_s=3)
    assert row["requests"] == 150
    assert (row["failed"], row["unexpected_version"]) == (0, 0)
    assert row["with_version"] >= 100  # shortlist, rank and registry answers carry it
    assert set(row["by_replica"]) == {"r1", "r2"}
    assert min(row["by_replica"].values()) >= 50  # round robin, not one replica


def test_rolling_update_fails_nothing_and_pinned_clients_never_go_back(
    snapshots: Snapshots,
) -> None:
    """Three replicas replaced one by one on the new snapshot under 60 req/s: 0 failed,
    only the two versions, pinned clients monotonic, the new version everywhere at the end.

    Three, not two: while the second is replaced, the first (new) and the third (old) both
    serve, so unpinned clients do see the old version after the new one; that they do here
    shows the pinned clients' guarantee is tested in the window where it matters."""
    result = rolling_update(snapshots, replicas=3, rate=60, settle_s=1.5)
    assert [s["replica"] for s in result["steps"]] == ["r1", "r2", "r3"]
    assert result["requests"] >= 400
    assert (result["failed"], result["unexpected_version"]) == (0, 0)
    assert result["pinned_clients_backwards"] == 0
    assert result["unpinned_clients_backwards"] >= 1  # not guaranteed without pinning
    assert result["clients_that_saw_new"] >= result["clients"] // 2
    assert result["last_5pct_all_new"] is True


def test_killed_replica_is_taken_out(snapshots: Snapshots) -> None:
    """SIGKILL under 60 req/s: marked down within 3 s, never routed to afterwards, the
    survivor keeps answering; failures bounded by what was in flight on it."""
    result = kill(snapshots, replicas=2, rate=60, before_s=1.5, after_s=3.0)
    assert result["requests"] == 270
    assert result["seconds_until_marked_down"] <= 3.0
    assert result["answered_by_killed_after_down"] == 0
    assert result["failed_after_marked_down"] == 0
    assert result["failed"] <= 2
    assert result["survivors_up"] is True
    assert result["by_replica"]["r2"] > result["by_replica"].get("r1", 0)
