"""Accepted credentials, kept only as SHA-256 digests, and their constant-time check.

Candidates are compared with `hmac.compare_digest` against every accepted digest without
stopping at a match, so timing reveals neither a key nor which key matched. Equal-length
digests also keep `compare_digest` from leaking the length of a key.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from matcher.settings import Settings


def digest(secret: str) -> bytes:
    """The SHA-256 digest a secret is kept and compared as."""
    return hashlib.sha256(secret.encode()).digest()


def matches(candidate: str, accepted: tuple[bytes, ...]) -> bool:
    """Whether `candidate` is one of the accepted secrets (constant time over all of them)."""
    probe = digest(candidate)
    found = False
    for key in accepted:
        found |= hmac.compare_digest(probe, key)
    return found


@dataclass(frozen=True, slots=True)
class Credentials:
    """Digests of the client API keys (empty = keys not required) and the admin token."""

    api_keys: tuple[bytes, ...]
    admin_token: bytes | None

    @classmethod
    def from_settings(cls, settings: Settings) -> Credentials:
        """The credentials `settings` configure (an empty admin token counts as none)."""
        token = settings.admin_token.get_secret_value() if settings.admin_token else ""
        return cls(
            api_keys=tuple(digest(k) for k in settings.api_key_list()),
            admin_token=digest(token) if token else None,
        )
