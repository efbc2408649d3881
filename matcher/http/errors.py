"""One exception handler set, one error body: `{"error": {"code", "message", "details"}}`.

Every failure an HTTP client can see goes through `error_response`: the matcher's own
`MatcherError`s (which know their status and code), FastAPI's parameter validation errors,
Starlette's HTTP exceptions (unknown route 404, wrong method 405) and, as 500, anything
unexpected. Bodies never echo an input value and a 500 never carries a trace.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from matcher.http.logs import EVENT_LOGGER, exception_fields
from matcher.vocabulary.errors import AuthError, ErrorDetail, MatcherError, RequestError

log = logging.getLogger(EVENT_LOGGER)

_PARAM_SOURCES = {"query", "path", "header", "cookie", "body"}

# Codes for HTTP errors raised by the framework itself (routing, methods).
_HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "request"),
    404: ("not_found", "path"),
    405: ("method_not_allowed", "method"),
    406: ("not_acceptable", "accept"),
    413: ("payload_too_large", "body"),
    415: ("unsupported_media_type", "content-type"),
}


class CredentialsRequiredError(AuthError):
    """Credentials are missing or malformed; `challenge` names the scheme to use."""

    def __init__(self, message: str, field: str, challenge: str) -> None:
        super().__init__(message, [ErrorDetail(field=field, reason=message)])
        self.challenge = challenge


def error_response(exc: MatcherError) -> JSONResponse:
    """The canonical error response of a MatcherError."""
    headers: dict[str, str] = {}
    if isinstance(exc, CredentialsRequiredError):
        headers["WWW-Authenticate"] = exc.challenge
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers or None)


def internal_error() -> JSONResponse:
    """The generic 500: no message from the exception, no trace."""
    return error_response(MatcherError("internal server error"))


def from_validation(exc: RequestValidationError) -> RequestError:
    """A FastAPI parameter validation error as a RequestError (values omitted)."""
    details: list[ErrorDetail] = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ())]
        if loc and loc[0] in _PARAM_SOURCES and len(loc) > 1:
            loc = loc[1:]
        details.append(ErrorDetail(field=".".join(loc) or "request", reason=str(e.get("msg"))))
    first = details[0] if details else ErrorDetail("request", "invalid")
    err = RequestError(f"{first.field}: {first.reason}", field=first.field)
    err.details = details
    return err


def from_http(exc: HTTPException) -> MatcherError:
    """A framework HTTP exception (404, 405, ...) as a MatcherError of the same status."""
    code, field = _HTTP_CODES.get(exc.status_code, (f"http_{exc.status_code}", "request"))
    message = {404: "no such resource", 405: "method not allowed for this path"}.get(
        exc.status_code, str(exc.detail)
    )
    err = MatcherError(message, [ErrorDetail(field=field, reason=message)])
    err.status_code = exc.status_code
    err.code = code
    return err


async def _on_matcher_error(request: Request, exc: Exception) -> Response:
    return error_response(exc) if isinstance(exc, MatcherError) else internal_error()


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):
        return internal_error()
    return error_response(from_validation(exc))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        return internal_error()
    response = error_response(from_http(exc))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log_unexpected(exc, request.scope)
    return internal_error()


def log_unexpected(exc: BaseException, scope: MutableMapping[str, Any]) -> None:
    """Log an unexpected exception by type and frames (never its message: it may hold input)."""
    route = scope.get("route")
    fields = {"route": getattr(route, "path", None), **exception_fields(exc)}
    log.error("unhandled exception", extra={"fields": fields})


def install_error_handlers(app: FastAPI) -> None:
    """Register the one handler set on `app`."""
    app.add_exception_handler(MatcherError, _on_matcher_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
