"""JSON log lines (one object per line) and the logging config handed to uvicorn.

Structured fields travel in `extra={"fields": {...}}`. Exceptions are logged as their type
and stack frames only: an exception *message* can carry the input that caused it, and
inputs may be a child's details, which must never reach a log (DOMAIN: sensitive data).
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

ACCESS_LOGGER = "matcher.access"
EVENT_LOGGER = "matcher.http"


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """An exception as loggable fields: its type and frames, never its message or locals."""
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "exc_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "exc_frames": [f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-12:]],
    }


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: ts, level, logger, msg, then its `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            out.update(exception_fields(record.exc_info[1]))
        try:  # orjson: one access line per request, so its cost is per request
            return orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # e.g. an integer beyond 64 bits
            return json.dumps(out, ensure_ascii=False, default=str, separators=(",", ":"))


def log_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn and matcher: JSON lines on stderr.

    uvicorn's own access log is off: the access middleware writes one richer line per request.
    """
    upper = level.upper()
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "matcher.http.logs.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": upper, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "matcher": {"handlers": ["stderr"], "level": upper, "propagate": False},
        },
    }
