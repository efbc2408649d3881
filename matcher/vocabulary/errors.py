"""One error tree for matcher; every class knows its HTTP status and error code.

    MatcherError                      500 internal_error
    ├── RequestError                  422 invalid_request   (a field of a request is wrong)
    │   ├── UnknownAuthorityError     422 unknown_authority (with suggestions)
    │   ├── UnknownLocationError      422 unknown_location  (postcode/district not found)
    │   ├── OutsideCoverageError      422 outside_coverage  (NI postcode, point outside GB)
    │   ├── UnknownProviderError      422 unknown_provider  (with suggestions)
    │   ├── InvalidWeightsError       422 invalid_weights
    │   └── LimitExceededError        422 limit_exceeded    (too many bids/referrals, radius)
    ├── PayloadTooLargeError          413 payload_too_large
    ├── UnsupportedMediaTypeError     415 unsupported_media_type
    ├── RequestTimeoutError           408 request_timeout   (the body stopped arriving)
    ├── AuthError                     401 unauthorized
    │   └── ForbiddenError            403 forbidden
    ├── NotFoundError                 404 not_found
    ├── SnapshotError                 422 invalid_snapshot  (a registry snapshot is refused)
    ├── ServiceUnavailableError       503 not_ready         (no snapshot loaded yet)
    └── TimeLimitExceededError        503 time_limit_exceeded (batch work past its time limit)

The HTTP layer turns any of these into the canonical error body; the CLI prints the same
body to stderr and exits non-zero. Messages never echo a child's details.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One problem: where (a dotted/indexed field path) and why."""

    field: str
    reason: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in error bodies."""
        out: dict[str, Any] = {"field": self.field, "reason": self.reason}
        out.update(self.extra)
        return out


class MatcherError(Exception):
    """Root of every error matcher raises on purpose."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, details: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[ErrorDetail] = details or []

    def body(self) -> dict[str, Any]:
        """The canonical error body (see README, "Errors")."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [d.as_dict() for d in self.details],
            }
        }


class RequestError(MatcherError):
    """A request is well-formed JSON but a field is wrong."""

    status_code = 422
    code = "invalid_request"

    def __init__(self, message: str, field: str, **extra: Any) -> None:
        super().__init__(message, [ErrorDetail(field=field, reason=message, extra=extra)])
        self.field = field


class UnknownAuthorityError(RequestError):
    """No authority matches the name or code; suggestions are given."""

    code = "unknown_authority"


class UnknownLocationError(RequestError):
    """A postcode or postcode district is not known."""

    code = "unknown_location"


class OutsideCoverageError(RequestError):
    """A location outside Great Britain (or a Northern Ireland postcode)."""

    code = "outside_coverage"


class UnknownProviderError(RequestError):
    """No provider in the registry snapshot has this id; suggestions are given."""

    code = "unknown_provider"


class InvalidWeightsError(RequestError):
    """Match weights are not finite, negative, all zero or unknown."""

    code = "invalid_weights"


class LimitExceededError(RequestError):
    """A configured limit (bids, referrals, radius) is exceeded."""

    code = "limit_exceeded"


class PayloadTooLargeError(MatcherError):
    """The request body is larger than the configured limit."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(MatcherError):
    """The request body is not JSON."""

    status_code = 415
    code = "unsupported_media_type"


class RequestTimeoutError(MatcherError):
    """The request body did not arrive within the configured time."""

    status_code = 408
    code = "request_timeout"


class AuthError(MatcherError):
    """No or malformed credentials."""

    status_code = 401
    code = "unauthorized"


class ForbiddenError(AuthError):
    """Credentials given but not accepted."""

    status_code = 403
    code = "forbidden"


class NotFoundError(MatcherError):
    """A resource named in the path does not exist."""

    status_code = 404
    code = "not_found"


class SnapshotError(MatcherError):
    """A registry snapshot cannot be read or fails validation; it is refused as a whole."""

    status_code = 422
    code = "invalid_snapshot"


class ServiceUnavailableError(MatcherError):
    """No registry snapshot is loaded yet (or the first load failed)."""

    status_code = 503
    code = "not_ready"


class TimeLimitExceededError(MatcherError):
    """Batch work reached its wall-clock limit with nothing it could answer.

    503: the service bounds the time one request may hold a worker; the same request may
    fit on a quieter service or with a higher limit, and a smaller batch fits sooner.
    """

    status_code = 503
    code = "time_limit_exceeded"

    def __init__(self, message: str, limit_s: float, stage: str) -> None:
        detail = ErrorDetail("referrals", message, {"time_limit_s": limit_s, "stage": stage})
        super().__init__(message, [detail])
        self.limit_s = limit_s
        self.stage = stage
