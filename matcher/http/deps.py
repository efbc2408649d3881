"""Request dependencies: the Matcher serving now, the raw body, the app's metrics.

All are `async def`: they only read a reference or await the body, so they stay on the event
loop. The matching routes await `raw_body` and `current_matcher` themselves
(`routes_match.compute`, which also decides whether the CPU work runs on the loop or a
request thread); the other routes take them as FastAPI dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from matcher.http.access import note
from matcher.http.credentials import Credentials
from matcher.http.metrics import Metrics
from matcher.http.state import SnapshotHolder
from matcher.service import Matcher
from matcher.settings import Settings
from matcher.vocabulary.errors import ErrorDetail, UnsupportedMediaTypeError


@dataclass(frozen=True, slots=True)
class Services:
    """What the app holds for its requests (on `app.state.services`)."""

    settings: Settings
    holder: SnapshotHolder
    metrics: Metrics
    credentials: Credentials
    catalogue_json: bytes


def services(request: Request) -> Services:
    """The app's services."""
    found = getattr(request.app.state, "services", None)
    if not isinstance(found, Services):
        raise TypeError("app.state.services is not set; build the app with create_app()")
    return found


def holder_of(request: Request) -> SnapshotHolder:
    """The app's snapshot holder."""
    return services(request).holder


def metrics_of(request: Request) -> Metrics:
    """The app's metrics."""
    return services(request).metrics


async def current_matcher(request: Request) -> Matcher:
    """The Matcher serving now, read once: the whole request uses this snapshot (or 503)."""
    matcher = holder_of(request).require()
    note(request).snapshot_version = matcher.snapshot.version
    return matcher


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (size-limited by the body limit middleware).

    Bodies are JSON: another declared media type is a 415, not a confusing parse error.
    A request with no content type is parsed strictly as JSON.
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError(
            f"request bodies must be application/json, not {media_type[:100]}",
            [ErrorDetail(field="content-type", reason="expected application/json")],
        )
    return await request.body()


CurrentMatcher = Annotated[Matcher, Depends(current_matcher)]
RawBody = Annotated[bytes, Depends(raw_body)]
