"""A second process that decodes and columns chunks of listings while the loader does others.

Decoding a snapshot's listings and reading their columns (`matcher.registry.columnar`) is
Python work that holds the interpreter lock: ~2 s of a 100k-listing load and ~20 s of a
million, on one core while a second one idles (`matcher serve` validates in its parent
before any worker starts). A thread cannot share that work; a process can. For a large
file the loader starts one helper, `python -m matcher.registry.helper`, and gives it every
chunk it is free to take, doing the others itself; chunks are added to the registry in
file order whoever decoded them, so the registry, its version and every error message are
the ones a single process gives (tested). The helper is a fresh interpreter, not a fork:
the loader may run inside a server whose other threads a fork would copy mid-step.

The helper only ever saves time. If it cannot start, stops, or answers what it should not,
the loader decodes the remaining chunks itself and logs why.

Frames on the helper's stdin and stdout: an 8-byte little-endian length, then the payload.
The helper writes one empty frame once it has imported what it needs. A request is one
chunk's listings as one JSON array (`columnar.joined`); the reply is the pickled `Chunk`,
or an empty frame when the chunk is not plain (`NotPlain`: the loader then validates it
with the models, as it always would). Replies come in the order of the requests. The
loader gives it at most `HELPER_QUEUE` chunks at once, and the helper reads its input on a
thread of its own, so the loader's writes never wait for the helper to finish writing.
Closing the helper's stdin ends it.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle  # replies come from our own child process, never from input
import queue
import select
import signal
import subprocess  # our own module, run by this interpreter, no shell
import sys
import threading
import time
from types import TracebackType

from matcher.registry.columnar import Chunk, Memo, NotPlain, decode_array, plain_chunk

log = logging.getLogger("matcher.registry")

_HEADER = 8
REPLY_TIMEOUT_S = 60.0  # a chunk takes ~0.1 s; far beyond that the helper is stuck
START_TIMEOUT_S = 30.0  # importing its modules takes ~0.3 s
EXIT_TIMEOUT_S = 5.0  # to take its last chunk and end once its input is closed
# This interpreter running this module (a test may name another program).
COMMAND = (sys.executable, "-m", "matcher.registry.helper")


class HelperGone(Exception):  # noqa: N818  # a reason to carry on without it, not an error
    """The helper stopped, timed out or sent something that is not a frame."""


class Helper:
    """The loader's side of one helper process (a context manager that always ends it)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        assert process.stdin is not None and process.stdout is not None  # noqa: S101  # PIPE
        self._from = process.stdout.fileno()
        self._started = time.monotonic()
        self.is_ready = False
        self.chunks = 0  # chunks it decoded
        # Chunks are written on a thread: the helper drains its input only between its own
        # stretches of work under its interpreter lock, and this process must not wait.
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(
            target=_answer, args=(process.stdin.fileno(), self._outbox), daemon=True
        )
        self._writer.start()

    @classmethod
    def start(cls) -> Helper | None:
        """A running helper, or None (logged) when none can be started."""
        try:
            process = subprocess.Popen(  # noqa: S603  # fixed argv: this interpreter, our module
                COMMAND,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
            )
        except OSError as exc:
            log.warning("validation helper not started; validating in one process",
                        extra={"fields": {"error": f"{type(exc).__name__}: {exc}"}})  # fmt: skip
            return None
        return cls(process)

    def ready(self) -> bool:
        """Whether it can take a chunk now (never waits, except to read its ready frame)."""
        if not self.is_ready and _readable(self._from, 0.0):
            if _read_frame(self._from) != b"":
                raise HelperGone("unexpected first frame")
            self.is_ready = True
        elif not self.is_ready and time.monotonic() - self._started > START_TIMEOUT_S:
            raise HelperGone(f"not ready after {START_TIMEOUT_S:.0f} s")
        return self.is_ready

    def send(self, encoded: bytes) -> None:
        """Give it one chunk (a JSON array of listings); written in the background (if it
        cannot be, its reply never comes: `reply` says so)."""
        self._outbox.put(encoded)

    def replied(self) -> bool:
        """Whether its reply to the chunk it holds has begun to arrive."""
        return _readable(self._from, 0.0)

    def reply(self) -> Chunk | None:
        """The columns of the chunk it holds, or None when that chunk is not plain."""
        if not _readable(self._from, REPLY_TIMEOUT_S):
            raise HelperGone(f"no reply in {REPLY_TIMEOUT_S:.0f} s")
        payload = _read_frame(self._from)
        if not payload:
            self.chunks += 1
            return None
        try:
            chunk = pickle.loads(payload)  # noqa: S301  # our own child's reply, see above
        except Exception as exc:  # any damage: the loader carries on without it
            raise HelperGone(f"unreadable reply: {type(exc).__name__}") from None
        if not isinstance(chunk, Chunk):
            raise HelperGone(f"unexpected reply: {type(chunk).__name__}")
        self.chunks += 1
        return chunk

    def __enter__(self) -> Helper:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End it: close its input (it exits), and kill it if it does not in time."""
        process = self._process
        self._outbox.put(None)
        self._writer.join(timeout=EXIT_TIMEOUT_S)
        if self._writer.is_alive():  # stuck writing to a helper that no longer reads
            process.kill()  # (its input is closed only once nothing writes to it)
            self._writer.join()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        try:
            process.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _readable(fd: int, timeout_s: float) -> bool:
    """Whether `fd` has data or its end (poll, not select: a server may hold more than
    select's 1,024 descriptors)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout_s * 1000.0))


def _write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(len(payload).to_bytes(_HEADER, "little") + payload)
    while view:
        view = view[os.write(fd, view) :]


def _read_frame(fd: int) -> bytes:
    size = int.from_bytes(_read_exactly(fd, _HEADER), "little")
    return _read_exactly(fd, size)


def _read_exactly(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            raise HelperGone("it stopped (end of its output)")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def serve(requests: int, replies: int) -> None:
    """The helper's loop: decode each chunk read from `requests`, answer on `replies`,
    until its input ends.

    Reading and writing run on their own threads (the pipes are waited on with the
    interpreter lock released), so the loop decodes the next chunk while the loader has
    yet to read the last answer, and the loader's writes never wait on ours.
    """
    gc.disable()  # as the loader does while it loads: what a chunk allocates forms no cycle
    inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    threading.Thread(target=_receive, args=(requests, inbox), daemon=True).start()
    writer = threading.Thread(target=_answer, args=(replies, outbox), daemon=True)
    writer.start()
    outbox.put(b"")  # ready
    memo = Memo()
    while (encoded := inbox.get()) is not None:
        try:
            chunk = plain_chunk(decode_array(encoded), memo)
        except NotPlain:
            outbox.put(b"")
            continue
        outbox.put(pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL))
    outbox.put(None)
    writer.join()


def _receive(fd: int, inbox: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while True:
            inbox.put(_read_frame(fd))
    except (HelperGone, OSError):  # the loader closed our input (or went away): done
        inbox.put(None)


def _answer(fd: int, outbox: queue.SimpleQueue[bytes | None]) -> None:
    while (payload := outbox.get()) is not None:
        try:
            _write_frame(fd, payload)
        except OSError:  # the loader stopped reading (it went away, or carries on alone)
            return


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group: the loader decides, we end with our input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.fileno(), sys.stdout.fileno())
