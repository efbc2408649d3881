"""The baseline: a bare FastAPI endpoint with the shortlist's request and response sizes.

It reads the JSON body (parses it, as the real endpoint must) and answers a fixed body of
`BARE_BODY_BYTES` bytes, in a plain `def` handler like the matcher's (so the threadpool
hop is in both), with no middleware. Served by uvicorn with the same options as
`matcher serve` (h11, no access log, no server header); see `benchmarks.http.servers`.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

BODY_BYTES = int(os.environ.get("BARE_BODY_BYTES", "20000"))


def fixed_body(size: int) -> bytes:
    """A JSON document of exactly `size` bytes (at least 16)."""
    head, tail = b'{"padding":"', b'"}'
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


BODY = fixed_body(BODY_BYTES)
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


async def raw_body(request: Request) -> bytes:
    """The request body (read on the event loop, as the matcher's dependency does)."""
    return await request.body()


@app.post("/v1/shortlist")
@app.post("/v1/rank")
def answer(raw: Annotated[bytes, Depends(raw_body)]) -> Response:
    """Parse the body, answer the fixed document (one size per run: `BARE_BODY_BYTES`)."""
    json.loads(raw)
    return Response(content=BODY, media_type="application/json")


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    """Readiness, for the harness's wait (the matcher's /readyz answers 200 once loaded)."""
    return {"status": "ok"}
