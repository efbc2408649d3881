"""Sufficiency over a Dask cluster: the in-process work units, scattered to workers.

One machine answers 10^4 referrals in seconds; a national analysis (every council, several
years, scenario sweeps) is 10^6 or more. `analyse` already splits a batch into independent
work units, one per (origin, DPV, lot): a referral's figures depend only on its own unit's
listings (its in-area count only on its own authority's). So the batch is cut into
partitions of whole units, each partition is analysed on a worker by the very same
`analyse` (one thread: the worker is the unit of parallelism), and the figures come back
with their positions in the batch. The snapshot's index is scattered once to every worker
(`broadcast=True`), so each worker holds it once, whatever the number of partitions.

Units are keyed as the requests state them (placing authority, origin, DPV, lot): requests
with one key always resolve to one unit, so a unit is never merged with another; a unit
written two ways ("Harrow", "E09000015") may land in two partitions, which only repeats a
little listing-side work. The answer is identical to the in-process one, referral for
referral, and the first invalid referral of the batch is reported as in-process
(tests/test_distributed.py, on a LocalCluster of two workers).

Block allocation is one optimisation problem over all its referrals (a MILP): it has no
independent units to distribute and stays in-process.

Needs the `distributed` extra (`pip install 'matcher[distributed]'`); workers need matcher
at the same version.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
from collections import defaultdict
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any

from matcher.batch.sufficiency import ReferralSupply, analyse
from matcher.batch.sufficiency_report import build_response, checked_radii
from matcher.vocabulary.errors import ErrorDetail, RequestError

if TYPE_CHECKING:
    from distributed import Client

    from matcher.batch.models import SufficiencyResponse
    from matcher.match.request import ShortlistRequest
    from matcher.registry.index import RegistryIndex

UnitKey = tuple[str, str, str, str]
_LOCAL_POSITION = re.compile(r"^referrals\.(\d+)\.")


def unit_key(req: ShortlistRequest) -> UnitKey:
    """(placing authority, origin, DPV, lot) as stated: one key, one work unit."""
    return (req.placing_authority, repr(req.origin), str(req.dpv), str(req.lot))


def partitions(requests: list[ShortlistRequest], target: int) -> list[list[int]]:
    """Positions in partitions of whole units, about `target` referrals each (a larger
    unit stays whole), ascending within each so a partition resolves in batch order."""
    units: dict[UnitKey, list[int]] = defaultdict(list)
    for i, req in enumerate(requests):
        units[unit_key(req)].append(i)
    out: list[list[int]] = []
    current: list[int] = []
    for key in sorted(units):
        current += units[key]
        if len(current) >= target:
            out.append(sorted(current))
            current = []
    if current:
        out.append(sorted(current))
    return out


@dataclasses.dataclass(frozen=True)
class PartFailure:
    """A partition's first invalid referral, as data: matcher's errors take their field
    as an argument, so they do not pickle; `error()` rebuilds it on the client."""

    position: int
    kind: type[RequestError]
    message: str
    details: list[ErrorDetail]

    def error(self) -> RequestError:
        """The error as in-process `analyse` raises it (naming the batch position)."""
        first = self.details[0]
        err = self.kind(self.message, first.field, **first.extra)
        err.details = list(self.details)
        return err


def pack(requests: list[ShortlistRequest], positions: list[int]) -> bytes:
    """A partition as one pickle: Dask walks a list argument item by item looking for
    futures (8.6 s of 46 s for 25,000 requests, measured), but passes bytes through."""
    return pickle.dumps(([requests[i] for i in positions], positions), protocol=5)


def analyse_part(
    index: RegistryIndex, packed: bytes, radii_miles: list[float], max_radius_miles: float
) -> list[ReferralSupply] | PartFailure:
    """On a worker: one partition through `analyse`, positions mapped back to the batch's."""
    # S301: bytes our own client pickled (`pack`); Dask itself moves tasks by pickle.
    requests, positions = pickle.loads(packed)  # noqa: S301
    try:
        supply = analyse(index, requests, radii_miles, max_radius_miles, threads=1)
    except RequestError as exc:
        local = next((m for d in exc.details if (m := _LOCAL_POSITION.match(d.field))), None)
        if local is None:
            raise
        position = positions[int(local.group(1))]
        details = [
            ErrorDetail(_LOCAL_POSITION.sub(f"referrals.{position}.", d.field), d.reason, d.extra)
            for d in exc.details
        ]
        return PartFailure(position, type(exc), exc.message, details)
    return [dataclasses.replace(s, position=positions[s.position]) for s in supply]


def analyse_distributed(
    client: Client,
    index: RegistryIndex,
    requests: list[ShortlistRequest],
    radii_miles: list[float],
    max_radius_miles: float,
    partition_size: int | None = None,
    stats: dict[str, Any] | None = None,
) -> list[ReferralSupply]:
    """`analyse` on the cluster behind `client`: the same list, in input order.

    `partition_size` defaults to about eight partitions per worker (at least 1,000
    referrals each), so a slow worker does not hold up the end. `stats`, when given, gets
    the number of partitions and of workers that held the snapshot and did work.
    """
    if not requests:
        return []
    try:
        results = _run_parts(client, index, requests, radii_miles, max_radius_miles,
                             partition_size, stats)  # fmt: skip
    except CancelledError:
        # Dask's memory manager may drop a worker's copy of the scattered snapshot while
        # another worker fetches it ("lost dependencies": seen once in the test suite);
        # the tasks only read, so the batch runs once more from a fresh scatter.
        results = _run_parts(client, index, requests, radii_miles, max_radius_miles,
                             partition_size, stats)  # fmt: skip
    failures = [r for r in results if isinstance(r, PartFailure)]
    if failures:
        raise min(failures, key=lambda f: f.position).error()
    by_position: list[ReferralSupply | None] = [None] * len(requests)
    for part_supply in results:
        for supply in part_supply if isinstance(part_supply, list) else []:
            by_position[supply.position] = supply
    return [s for s in by_position if s is not None]


def _run_parts(
    client: Client,
    index: RegistryIndex,
    requests: list[ShortlistRequest],
    radii_miles: list[float],
    max_radius_miles: float,
    partition_size: int | None,
    stats: dict[str, Any] | None,
) -> list[list[ReferralSupply] | PartFailure]:
    """Scatter the snapshot, run every partition, and gather what each gave."""
    workers = max(1, len(client.scheduler_info()["workers"]))
    size = partition_size or max(1000, -(-len(requests) // (workers * 8)))
    parts = partitions(requests, size)
    [snapshot] = client.scatter([index], broadcast=True)
    if stats is not None:  # now: once idle, Dask's memory manager may drop extra copies
        stats["workers_with_snapshot"] = len(client.who_has([snapshot])[snapshot.key])
    # Partitions dealt round-robin (so every worker starts at once), but not pinned: an
    # idle worker may take a partition queued elsewhere.
    addresses = sorted(client.scheduler_info()["workers"])
    futures = [
        client.submit(
            analyse_part,
            snapshot,
            pack(requests, part),
            radii_miles,
            max_radius_miles,
            pure=False,
            workers=[addresses[n % len(addresses)]] if addresses else None,
            allow_other_workers=True,
        )
        for n, part in enumerate(parts)
    ]
    results: list[list[ReferralSupply] | PartFailure] = client.gather(futures)
    if stats is not None:
        stats["partitions"] = len(parts)
        stats["workers_used"] = len({w for ws in client.who_has(futures).values() for w in ws})
    return results


def sufficiency_distributed(
    client: Client,
    index: RegistryIndex,
    snapshot_version: str,
    requests: list[ShortlistRequest],
    radii_miles: list[float],
    max_radius_miles: float,
) -> SufficiencyResponse:
    """The whole sufficiency answer, as `sufficiency_response` gives it, with the per-referral
    work on the cluster (no referral-count limit: this path exists for large batches)."""
    radii = checked_radii(radii_miles, max_radius_miles)
    supply = analyse_distributed(client, index, requests, radii, max_radius_miles)
    return build_response(supply, requests, radii, snapshot_version)
