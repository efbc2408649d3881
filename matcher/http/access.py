"""What a route tells the access log about its request: ids, versions and counts only.

The access middleware puts an `AccessNote` in the ASGI scope; routes fill it in and the
middleware writes it out after the response. Nothing from a referral's `child` ever goes
in, and the referral id is kept only when it is a well-formed id (the request schema's `Id`
pattern), so free text smuggled into it cannot reach a log line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request

SCOPE_KEY = "matcher.access"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")


@dataclass(slots=True)
class AccessNote:
    """Loggable facts about one request (all optional)."""

    referral_id: str | None = None
    snapshot_version: str | None = None
    match_ms: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def set_referral_id(self, value: object) -> None:
        """Keep `value` only if it is a well-formed referral id."""
        if isinstance(value, str) and _ID.match(value):
            self.referral_id = value

    def fields(self) -> dict[str, Any]:
        """The note as access-log fields."""
        out: dict[str, Any] = {
            "referral_id": self.referral_id,
            "snapshot_version": self.snapshot_version,
        }
        if self.match_ms is not None:
            out["match_ms"] = self.match_ms
        if self.counts:
            out["counts"] = self.counts
        return out


def note(request: Request) -> AccessNote:
    """The request's note (a throwaway one when no access middleware is installed)."""
    found = request.scope.get(SCOPE_KEY)
    return found if isinstance(found, AccessNote) else AccessNote()


class _ReferralIdOnly(BaseModel):
    """Reads `referral_id` (top level or under `request`) and ignores every other key."""

    model_config = ConfigDict(extra="ignore")
    referral_id: object = None
    request: _RequestIdOnly | None = None


class _RequestIdOnly(BaseModel):
    model_config = ConfigDict(extra="ignore")
    referral_id: object = None


_ReferralIdOnly.model_rebuild()


def sniff_referral_id(raw: bytes) -> object:
    """The referral id of a body that failed validation, if it has one; else None."""
    try:
        parsed = _ReferralIdOnly.model_validate_json(raw)
    except (ValidationError, ValueError):
        return None
    if parsed.referral_id is not None:
        return parsed.referral_id
    return parsed.request.referral_id if parsed.request else None
