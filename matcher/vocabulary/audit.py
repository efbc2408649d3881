"""Audit identifiers: the same inputs give the same `decision_id` (DOMAIN rule 9).

A decision id hashes the canonical request (keys sorted, defaults filled in by validation),
the snapshot version and anything else that shaped the answer (weights, contract terms),
so an answer can be traced to exactly what produced it and reproduced later.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def decision_id(request: BaseModel, snapshot_version: str, **context: Any) -> str:
    """A short, stable hash of request + snapshot + context (e.g. weights, terms version)."""
    payload = {
        "request": request.model_dump(mode="json"),
        "snapshot_version": snapshot_version,
        "context": context,
    }
    return "dec_" + hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:20]
