"""Turning raw request bytes into validated request models, with canonical errors.

Shared by the CLI and the HTTP layer so a bad body gets the same error either way. Pydantic
messages are kept, but the offending *input value* is never echoed back: it may be a
child's details, and error bodies end up in logs.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from matcher.vocabulary.errors import ErrorDetail, RequestError

M = TypeVar("M", bound=BaseModel)
MAX_DETAILS = 50


def validation_error(exc: ValidationError, prefix: str = "") -> RequestError:
    """A RequestError listing every field problem (path and reason), values omitted."""
    details: list[ErrorDetail] = []
    for e in exc.errors(include_url=False, include_input=False, include_context=True)[:MAX_DETAILS]:
        path = ".".join(str(p) for p in (prefix, *e["loc"]) if p != "")
        extra = {}
        ctx = e.get("ctx") or {}
        if "expected" in ctx:
            extra["allowed"] = str(ctx["expected"])
        # A validator's own message is the reason; pydantic's "Value error, " prefix is noise.
        reason = e["msg"].removeprefix("Value error, ") if e["type"] == "value_error" else e["msg"]
        details.append(ErrorDetail(field=path or "body", reason=reason, extra=extra))
    first = details[0] if details else ErrorDetail("body", "invalid")
    err = RequestError(f"{first.field}: {first.reason}", field=first.field)
    err.details = details
    return err


def parse_body(model: type[M], raw: bytes | str) -> M:
    """Validate JSON text against a request model; any problem is a RequestError."""
    if not raw or (isinstance(raw, bytes | str) and not raw.strip()):
        raise RequestError("request body is empty", field="body")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_error(exc) from None
