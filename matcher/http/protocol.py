"""HTTP/1.1 with a deadline on the request head: slow or stalled clients cannot hold a worker.

uvicorn closes an idle keep-alive connection after `timeout_keep_alive`, but any byte the
client sends cancels that timer, and nothing at all bounds a connection that opens and then
sends nothing, or half a request line, or one header a minute (slowloris): each holds a
socket, a file descriptor and buffers for as long as the client likes. Here a client must
finish its request line and headers within `header_timeout_s` of connecting, or of the end
of the previous response on a kept-alive connection; otherwise it gets a 408 with the
canonical error body and the connection is closed. The body has its own deadline
(`BodyLimitMiddleware`, also 408) once the head has arrived.

The close lingers, as nginx's does: the 408 goes out followed by a FIN (the client reads
the answer, then the end), and whatever the client still sends is read and dropped for up
to `LINGER_S` before the socket is closed. Closing at once with the client's bytes unread
makes the kernel send a reset, which can destroy the 408 before the client has read it
(seen in the tests with a client still dribbling headers).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from matcher.vocabulary.errors import ErrorDetail, RequestTimeoutError


class MatcherConfig(uvicorn.Config):
    """uvicorn's Config plus the request-head deadline (module level, so workers spawned
    by the supervisor can unpickle it)."""

    def __init__(self, app: Any, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(app, http=HeadDeadlineProtocol, **kwargs)
        self.header_timeout_s = header_timeout_s


def head_timeout_response(timeout_s: float) -> bytes:
    """The raw 408 sent when a request head does not arrive in time (h11 cannot send a
    response before it has parsed a request, so the bytes are written directly)."""
    message = f"request line and headers not received within {timeout_s:g} s"
    detail = ErrorDetail("request", message, {"timeout_s": timeout_s})
    error = RequestTimeoutError(message, [detail])
    body = json.dumps(error.body(), separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


LINGER_S = 2.0  # at most this long reading and dropping a timed-out client's bytes


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with one timer: armed when a connection opens and when a
    response completes, it closes the connection if no request head has arrived since."""

    config: MatcherConfig  # the only config this protocol is given (see MatcherConfig)
    _head_deadline: asyncio.TimerHandle | None = None
    _linger: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head."""
        super().connection_made(transport)
        self._arm_head_deadline()

    def on_response_complete(self) -> None:
        """Start the clock for the next request head on a kept-alive connection."""
        self._arm_head_deadline()  # before super(): it may parse a pipelined head at once
        super().on_response_complete()

    def data_received(self, data: bytes) -> None:
        """Parse as uvicorn does, except after a 408: then the bytes are dropped."""
        if self._linger is None:
            super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the timers with the connection."""
        self._cancel_head_deadline()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        timeout_s = self.config.header_timeout_s
        self._head_deadline = self.loop.call_later(timeout_s, self._on_head_deadline, timeout_s)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _on_head_deadline(self, timeout_s: float) -> None:
        self._head_deadline = None
        # IDLE: no complete request head in this cycle. Once one has arrived the request is
        # being read or answered, and the body deadline and the app take over.
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        self.transport.write(head_timeout_response(timeout_s))
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()  # the 408, then the end; what the client sends is dropped
        self._linger = self.loop.call_later(LINGER_S, self.transport.close)
