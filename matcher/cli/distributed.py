"""`python -m matcher.cli.distributed`: `matcher sufficiency` with the work on a Dask cluster.

    python -m matcher.cli.distributed referrals.jsonl --scheduler tcp://10.0.0.5:8786 \\
        [--registry FILE] [--radii 20 50]
    python -m matcher.cli.distributed referrals.jsonl --local-workers 2   # this machine

For batches beyond one machine (10^6 referrals and more: every council, several years,
scenario sweeps). The answer is the JSON `matcher sufficiency` prints, byte for byte
(see `matcher.batch.distributed`); there is no referral-count limit here. Workers need
matcher at the same version with the `distributed` extra (`pip install
'matcher[distributed]'`). Errors: the canonical error body on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from matcher.batch.models import SufficiencyRequest
from matcher.boundary import validation_error
from matcher.cli.batch import read_referrals
from matcher.cli.common import build_matcher, emit, read_input
from matcher.settings import Settings
from matcher.vocabulary.errors import MatcherError, RequestError


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m matcher.cli.distributed", description=__doc__)
    p.add_argument("referrals", help="JSON array or JSON Lines of shortlist requests")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--scheduler", help="address of a running Dask scheduler")
    where.add_argument("--local-workers", type=int, help="start a cluster on this machine")
    p.add_argument("--radii", type=float, nargs="+", default=[20.0, 50.0], metavar="MILES")
    p.add_argument("--registry", default=None, help="snapshot file (default: embedded)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sufficiency analysis on the cluster; print the answer."""
    args = build_parser().parse_args(argv)
    try:
        from distributed import Client, LocalCluster

        from matcher.batch.distributed import sufficiency_distributed
    except ImportError:
        err = RequestError(
            "Dask is not installed: pip install 'matcher[distributed]'", field="scheduler"
        )
        sys.stderr.write(json.dumps(err.body()) + "\n")
        return 1
    try:
        referrals = read_referrals(read_input(args.referrals, args.referrals))
        try:  # the radii checked as `matcher sufficiency` checks them (not the batch size)
            radii = SufficiencyRequest(referrals=referrals[:1], radii_miles=args.radii)
        except ValidationError as exc:
            raise validation_error(exc) from None
        matcher = build_matcher(args)
        max_radius = Settings().max_radius_miles
        if args.scheduler:
            with Client(args.scheduler) as client:
                answer = sufficiency_distributed(
                    client, matcher.snapshot.index, matcher.snapshot.version, referrals,
                    radii.radii_miles, max_radius,
                )  # fmt: skip
        else:
            with (
                LocalCluster(
                    n_workers=args.local_workers,
                    threads_per_worker=1,
                    host="127.0.0.1",
                    dashboard_address="127.0.0.1:0",  # not the fixed 8787: it may be taken
                ) as cluster,
                Client(cluster) as client,
            ):
                answer = sufficiency_distributed(
                    client, matcher.snapshot.index, matcher.snapshot.version, referrals,
                    radii.radii_miles, max_radius,
                )  # fmt: skip
    except MatcherError as exc:
        sys.stderr.write(json.dumps(exc.body(), ensure_ascii=False) + "\n")
        return 1
    emit(answer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
