"""`matcher` command line: serve, answer one request in-process, validate and generate data.

Results go to stdout as JSON; errors go to stderr as the canonical error body with a
non-zero exit (1 for a refused request or snapshot, 2 for bad usage).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel

from matcher.cli import batch as cli_batch
from matcher.cli.common import build_matcher, emit, read_input
from matcher.vocabulary.errors import MatcherError


def cmd_request(kind: str) -> Callable[[argparse.Namespace], int]:
    """`shortlist`, `rank` and `compare`: one request from a file, answered in-process."""

    def run(args: argparse.Namespace) -> int:
        from matcher.bids.request import CompareRequest, RankRequest
        from matcher.boundary import parse_body
        from matcher.match.request import ShortlistRequest

        models: dict[str, type[BaseModel]] = {
            "shortlist": ShortlistRequest,
            "rank": RankRequest,
            "compare": CompareRequest,
        }
        raw = read_input(args.request, f"request file {args.request}")
        req = parse_body(models[kind], raw)
        answer = getattr(build_matcher(args), f"{kind}_answer")(req)
        sys.stdout.buffer.write(answer.json() + b"\n")
        return 0

    return run


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate a snapshot: all errors (exit 1) or a summary (exit 0)."""
    from matcher.registry.index import RegistryIndex
    from matcher.registry.loader import load_registry
    from matcher.registry.summary import registry_summary

    registry = load_registry(Path(args.file))
    emit(registry_summary(RegistryIndex.build(registry), source=args.file))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the snapshot or of a request/response body."""
    from matcher.bids.request import CompareRequest, RankRequest
    from matcher.bids.response import CompareResponse, RankResponse
    from matcher.match.request import ShortlistRequest
    from matcher.match.response import ShortlistResponse
    from matcher.registry.snapshot import RegistrySnapshot

    models: dict[str, type[BaseModel]] = {
        "registry": RegistrySnapshot,
        "shortlist-request": ShortlistRequest,
        "shortlist-response": ShortlistResponse,
        "rank-request": RankRequest,
        "rank-response": RankResponse,
        "compare-request": CompareRequest,
        "compare-response": CompareResponse,
    }
    emit(models[args.what].model_json_schema())
    return 0


def cmd_demo_registry(args: argparse.Namespace) -> int:
    """Write a synthetic registry snapshot (.json or .json.gz)."""
    from matcher.registry.demo import generate

    registry = generate(args.listings, args.seed)
    text = json.dumps(registry.snapshot_dict(), separators=(",", ":"), ensure_ascii=False)
    out = Path(args.out)
    data = text.encode()
    out.write_bytes(gzip.compress(data, mtime=0) if out.name.endswith(".gz") else data)
    print(
        json.dumps(
            {"out": str(out), "listings": registry.size, "snapshot_version": registry.version}
        ),
        file=sys.stderr,
    )
    return 0


def cmd_authorities(args: argparse.Namespace) -> int:
    """List authorities, or look one up by code or name."""
    import geodata
    from matcher.geo_views import authority_json
    from matcher.match.request import resolve_authority

    if args.lookup is not None:
        emit(authority_json(resolve_authority(args.lookup, field="lookup")))
    else:
        emit([authority_json(a) for a in geodata.authorities()])
    return 0


def cmd_locate(args: argparse.Namespace) -> int:
    """Locate a postcode, postcode district or authority."""
    from matcher.geo_views import locate_json

    emit(locate_json(args.query))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP service with uvicorn."""
    from matcher.http.server import serve

    return serve(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one subcommand per capability)."""
    parser = argparse.ArgumentParser(prog="matcher", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default=None, help="default: settings (127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="default: settings (8000)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes")
    serve.add_argument("--registry", default=None, help="snapshot file (default: embedded)")
    serve.set_defaults(func=cmd_serve)

    for kind in ("shortlist", "rank", "compare"):
        p = sub.add_parser(kind, help=f"answer one {kind} request from a JSON file ('-' = stdin)")
        p.add_argument("request")
        p.add_argument("--registry", default=None, help="snapshot file (default: embedded)")
        p.set_defaults(func=cmd_request(kind))

    v = sub.add_parser("validate-registry", help="validate a registry snapshot file")
    v.add_argument("file")
    v.set_defaults(func=cmd_validate)

    s = sub.add_parser("schema", help="print a JSON Schema")
    s.add_argument(
        "what",
        choices=[
            "registry", "shortlist-request", "shortlist-response", "rank-request",
            "rank-response", "compare-request", "compare-response",
        ],
    )  # fmt: skip
    s.set_defaults(func=cmd_schema)

    d = sub.add_parser("demo-registry", help="generate a synthetic registry snapshot")
    d.add_argument("--listings", type=int, default=5000)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", required=True)
    d.set_defaults(func=cmd_demo_registry)

    a = sub.add_parser("authorities", help="list authorities or look one up")
    a.add_argument("--lookup", default=None, metavar="NAME_OR_CODE")
    a.set_defaults(func=cmd_authorities)

    loc = sub.add_parser("locate", help="locate a postcode, district or authority")
    loc.add_argument("query")
    loc.set_defaults(func=cmd_locate)

    cli_batch.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `matcher` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except MatcherError as exc:
        sys.stderr.write(json.dumps(exc.body(), ensure_ascii=False) + "\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    raise SystemExit(main())
