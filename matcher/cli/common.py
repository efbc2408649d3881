"""What every `matcher` subcommand shares: reading input, building the Matcher, writing JSON.

Kept apart from `main` (the parser) and `batch` (the batch subcommands) so that both can
use it without importing each other.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from matcher.vocabulary.errors import RequestError

if TYPE_CHECKING:  # the service (numpy, shapely, the registry) loads only when a command runs
    from matcher.service import Matcher


def emit(model: BaseModel | dict[str, Any] | list[Any]) -> None:
    """Write an answer to stdout as one JSON document (a model as its own JSON bytes)."""
    if isinstance(model, BaseModel):
        sys.stdout.write(model.model_dump_json() + "\n")
    else:
        sys.stdout.write(json.dumps(model, ensure_ascii=False) + "\n")


def read_input(path: str, what: str) -> bytes:
    """The bytes of `path` ('-' = stdin); a canonical error on field `file` if unreadable.

    `what` names the file in the message, e.g. "request file x.json".
    """
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise RequestError(f"cannot read {what}: {exc.strerror}", "file") from None


def build_matcher(args: argparse.Namespace) -> Matcher:
    """The Matcher for `--registry` (or the configured snapshot, or the embedded one)."""
    from matcher.service import Matcher, load_snapshot
    from matcher.settings import Settings

    settings = Settings()
    registry = args.registry or settings.registry_path
    return Matcher(
        load_snapshot(Path(registry) if registry else None, settings.policy()),
        limits=settings.limits(),
        terms=settings.terms(),
    )
