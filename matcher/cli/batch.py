"""`matcher allocate`, `matcher sufficiency`, `matcher market-feedback`, `matcher demo-referrals`:
many referrals at once.

Same conventions as `matcher.cli.main`: the answer as JSON on stdout; a refused request as the
canonical error body on stderr with exit 1 (`matcher.cli.main.main` catches `MatcherError`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from matcher.boundary import parse_body, validation_error
from matcher.cli.common import build_matcher, emit, read_input
from matcher.match.request import ShortlistRequest
from matcher.vocabulary.errors import RequestError


def register(sub: Any) -> None:
    """Add the batch subcommands to the `matcher` parser's subparsers."""
    a = sub.add_parser("allocate", help="place several referrals at once (exact MILP)")
    a.add_argument("request", help="AllocateRequest JSON file ('-' = stdin)")
    a.add_argument("--registry", default=None, help="snapshot file (default: embedded)")
    a.set_defaults(func=cmd_allocate)

    s = sub.add_parser("sufficiency", help="supply gaps over a batch of referrals")
    s.add_argument("referrals", help="JSON array or JSON Lines of shortlist requests ('-' = stdin)")
    s.add_argument("--radii", type=float, nargs="+", default=[20.0, 50.0], metavar="MILES")
    s.add_argument("--report", default=None, metavar="DIR", help="write Markdown, CSV and PNG here")
    s.add_argument("--registry", default=None, help="snapshot file (default: embedded)")
    s.set_defaults(func=cmd_sufficiency)

    m = sub.add_parser("market-feedback", help="why listings were left out or bids lost, "
                       "over a batch of rank requests")  # fmt: skip
    m.add_argument("requests", help="JSON array or JSON Lines of rank requests ('-' = stdin)")
    m.add_argument("--provider", default=None, metavar="P", help="report on this provider only")
    m.add_argument("--report", default=None, metavar="DIR", help="write Markdown, CSV and SVG")
    m.add_argument("--registry", default=None, help="snapshot file (default: embedded)")
    m.set_defaults(func=cmd_market_feedback)

    d = sub.add_parser("demo-referrals", help="generate a synthetic referral stream (JSON Lines)")
    d.add_argument("--n", type=int, default=1000)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", default=None, help="file (default: stdout)")
    d.add_argument("--bids", type=int, default=0, metavar="N",
                   help="up to N bids per referral from its shortlist (rank requests, for "
                   "market-feedback; needs the registry)")  # fmt: skip
    d.add_argument("--registry", default=None, help="snapshot file for --bids (default: embedded)")
    d.set_defaults(func=cmd_demo_referrals)


def cmd_allocate(args: argparse.Namespace) -> int:
    """Allocate from a request file; print the plan."""
    from matcher.batch.models import AllocateRequest

    req = parse_body(AllocateRequest, read_input(args.request, args.request))
    emit(build_matcher(args).allocate(req).answer)
    return 0


M = TypeVar("M", bound=BaseModel)


def read_referrals(raw: bytes) -> list[ShortlistRequest]:
    """A JSON array or JSON Lines of shortlist requests, validated (errors name the line)."""
    return read_many(raw, ShortlistRequest, "referrals")


def read_many(raw: bytes, model: type[M], field: str) -> list[M]:
    """A JSON array or JSON Lines of `model`, validated (errors name the item or line)."""
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        raise RequestError(f"no {field} given", field=field)
    if text.startswith("["):
        try:
            return TypeAdapter(list[model]).validate_json(text)  # type: ignore[valid-type]
        except ValidationError as exc:
            raise validation_error(exc, prefix=field) from None
    out = []
    for n, line in enumerate(text.splitlines()):
        if line.strip():
            try:
                out.append(model.model_validate_json(line))
            except ValidationError as exc:
                raise validation_error(exc, prefix=f"line {n + 1}") from None
    return out


def require_report_dependencies() -> None:
    """Refuse `--report` up front, with the install line, when matplotlib is missing.

    The charts need matplotlib, an optional extra (`matcher[report]`) that the service
    image leaves out; checked before the analysis runs, so nothing is computed in vain.
    """
    try:
        import matplotlib  # noqa: F401  (only whether it imports)
    except ImportError:
        raise RequestError(
            "--report draws its charts with matplotlib, which is not installed: "
            "pip install 'matcher[report]' (or leave out --report)",
            field="report",
        ) from None


def cmd_sufficiency(args: argparse.Namespace) -> int:
    """Analyse a referral batch; print the answer; optionally write a report folder."""
    from matcher.batch.models import SufficiencyRequest
    from matcher.batch.sufficiency_report import write_report

    if args.report:
        require_report_dependencies()
    referrals = read_referrals(read_input(args.referrals, args.referrals))
    try:  # the referrals are models already (not revalidated): this checks the radii
        batch = SufficiencyRequest(referrals=referrals, radii_miles=args.radii)
    except ValidationError as exc:
        raise validation_error(exc) from None
    matcher = build_matcher(args)
    started = time.perf_counter()
    answer = matcher.sufficiency(list(batch.referrals), list(batch.radii_miles))
    elapsed = time.perf_counter() - started
    if args.report:
        files = write_report(answer, Path(args.report), elapsed)
        note = {"report": [str(f) for f in files], "seconds": round(elapsed, 3)}
        print(json.dumps(note), file=sys.stderr)
    emit(answer)
    return 0


def cmd_market_feedback(args: argparse.Namespace) -> int:
    """Provider feedback over a batch of rank requests; optionally a report folder."""
    from matcher.batch.market_models import MarketFeedbackRequest
    from matcher.batch.market_report import write_report
    from matcher.bids.request import RankRequest

    requests = read_many(read_input(args.requests, args.requests), RankRequest, "requests")
    try:  # the requests are models already (not revalidated): this checks count and provider
        batch = MarketFeedbackRequest(requests=requests, provider_id=args.provider)
    except ValidationError as exc:
        raise validation_error(exc) from None
    matcher = build_matcher(args)
    started = time.perf_counter()
    answer = matcher.market_feedback(batch)
    elapsed = time.perf_counter() - started
    if args.report:
        files = write_report(answer, Path(args.report), elapsed)
        note = {"report": len(files), "folder": args.report, "seconds": round(elapsed, 3)}
        print(json.dumps(note), file=sys.stderr)
    emit(answer)
    return 0


def cmd_demo_referrals(args: argparse.Namespace) -> int:
    """Write a synthetic referral stream as JSON Lines."""
    from matcher.batch.demo_referrals import generate_referrals

    if args.n < 0:
        raise RequestError("--n must be >= 0", field="n")
    if args.bids < 0:
        raise RequestError("--bids must be >= 0", field="bids")
    referrals = generate_referrals(args.n, args.seed)
    if args.bids:
        from matcher.batch.demo_bids import add_bids

        index = build_matcher(args).snapshot.index
        referrals = add_bids(index, referrals, args.bids, args.seed)
    lines = "".join(json.dumps(r) + "\n" for r in referrals)
    if args.out:
        Path(args.out).write_text(lines)
    else:
        sys.stdout.write(lines)
    return 0
