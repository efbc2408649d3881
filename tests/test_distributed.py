"""Sufficiency on a Dask LocalCluster of two worker processes on 127.0.0.1 gives the
in-process answer exactly: every referral's figures, the aggregates, and the first invalid
referral's error. The snapshot is held once by each worker; partitions never split a unit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client, LocalCluster
from distributed.client import FutureCancelledError

from matcher.batch.demo_referrals import generate_referrals
from matcher.batch.distributed import (
    analyse_distributed,
    partitions,
    sufficiency_distributed,
    unit_key,
)
from matcher.batch.sufficiency import analyse
from matcher.batch.sufficiency_report import sufficiency_response
from matcher.cli.distributed import main as distributed_main
from matcher.cli.main import main as cli_main
from matcher.match.request import ShortlistRequest
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.errors import RequestError

pytestmark = pytest.mark.slow
RADII = [10.0, 20.0, 50.0]
MAX_RADIUS = 200.0


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two single-threaded worker processes, loopback only, no dashboard."""
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # never the fixed 8787: another run may hold it
        ) as cluster,
        Client(cluster) as c,
    ):
        c.wait_for_workers(2)
        yield c


@pytest.fixture(scope="module")
def index() -> RegistryIndex:
    """A 2,000-listing registry, indexed."""
    return RegistryIndex.build(generate(2000, 5), None, "strtree")


@pytest.fixture(scope="module")
def referrals() -> list[ShortlistRequest]:
    """500 demo referrals (authorities, postcode districts and points as origins)."""
    return [ShortlistRequest.model_validate(r) for r in generate_referrals(500, 11)]


def test_figures_equal_in_process(
    client: Client, index: RegistryIndex, referrals: list[ShortlistRequest]
) -> None:
    """Small partitions spread over both workers; the same ReferralSupply, in order."""
    stats: dict[str, int] = {}
    remote = analyse_distributed(
        client, index, referrals, RADII, MAX_RADIUS, partition_size=40, stats=stats
    )
    assert remote == analyse(index, referrals, RADII, MAX_RADIUS)
    assert stats["partitions"] >= 10
    assert stats["workers_with_snapshot"] == 2
    assert stats["workers_used"] == 2


def test_whole_answer_equals_in_process(
    client: Client, index: RegistryIndex, referrals: list[ShortlistRequest]
) -> None:
    """Aggregates and rows: the same JSON bytes as sufficiency_response."""
    local = sufficiency_response(index, "sha256:test", referrals, RADII, 20_000, MAX_RADIUS)
    remote = sufficiency_distributed(client, index, "sha256:test", referrals, RADII, MAX_RADIUS)
    assert remote.model_dump_json() == local.model_dump_json()


def test_first_invalid_referral_is_reported_as_in_process(
    client: Client, index: RegistryIndex, referrals: list[ShortlistRequest]
) -> None:
    """Two unknown authorities in different partitions: the earlier one, named by its
    position in the whole batch, as in-process."""
    batch = list(referrals[:300])
    for position in (217, 41):  # the later one first: the order of discovery must not matter
        bad = batch[position].model_dump()
        bad["placing_authority"] = "Atlantis"
        batch[position] = ShortlistRequest.model_validate(bad)
    with pytest.raises(RequestError) as local:
        analyse(index, batch, RADII, MAX_RADIUS)
    with pytest.raises(RequestError) as remote:
        analyse_distributed(client, index, batch, RADII, MAX_RADIUS, partition_size=40)
    assert remote.value.body() == local.value.body()
    assert remote.value.details[0].field.startswith("referrals.41.")


def test_partitions_keep_units_whole(referrals: list[ShortlistRequest]) -> None:
    """Every position once; no unit key in two partitions; ascending within each."""
    parts = partitions(referrals, 25)
    assert sorted(p for part in parts for p in part) == list(range(len(referrals)))
    owner = {}
    for n, part in enumerate(parts):
        assert part == sorted(part)
        for p in part:
            assert owner.setdefault(unit_key(referrals[p]), n) == n


def test_command_prints_what_matcher_sufficiency_prints(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m matcher.cli.distributed FILE --scheduler ADDR` = `matcher sufficiency FILE`,
    byte for byte, on a snapshot file."""
    registry = tmp_path / "registry.json.gz"
    assert cli_main(["demo-registry", "--listings", "1500", "--out", str(registry)]) == 0
    path = tmp_path / "referrals.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in generate_referrals(150, 3)))
    capsys.readouterr()
    options = ["--radii", "15", "40", "--registry", str(registry)]
    assert cli_main(["sufficiency", str(path), *options]) == 0
    local = capsys.readouterr().out
    address = client.scheduler.address
    assert distributed_main([str(path), "--scheduler", address, *options]) == 0
    remote = capsys.readouterr().out
    assert json.loads(local)["referrals"]  # a real answer, not two empty ones
    assert remote == local


def test_a_batch_whose_tasks_lost_the_snapshot_runs_once_more(
    client: Client,
    index: RegistryIndex,
    referrals: list[ShortlistRequest],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cancellation from Dask (its memory manager dropped a scattered copy while another
    worker fetched it): the batch is run again and gives the in-process figures."""
    gather = client.gather
    calls: list[int] = []

    def lost_once(futures: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise FutureCancelledError("analyse_part-0", "lost dependencies")
        return gather(futures)

    monkeypatch.setattr(client, "gather", lost_once)
    batch = referrals[:120]
    assert analyse_distributed(client, index, batch, RADII, MAX_RADIUS) == analyse(
        index, batch, RADII, MAX_RADIUS
    )
    assert len(calls) == 2
