"""What reloads the snapshot besides `POST /v1/admin/reload`: SIGHUP and a file watch.

Both run `SnapshotHolder.reload_logged` in a worker thread, never on the event loop: the
build takes seconds on a national registry and requests keep being answered meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from pathlib import Path

from matcher.http.logs import EVENT_LOGGER
from matcher.http.state import SnapshotHolder

log = logging.getLogger(EVENT_LOGGER)

WATCH_INTERVAL_S = 1.0


def reload_in_background(holder: SnapshotHolder, trigger: str) -> threading.Thread:
    """Start a reload in a daemon thread (it never delays shutdown)."""
    thread = threading.Thread(
        target=holder.reload_logged, args=(trigger,), name=f"reload-{trigger}", daemon=True
    )
    thread.start()
    return thread


def install_sighup(holder: SnapshotHolder) -> bool:
    """Reload on SIGHUP. Only from the main thread's running loop; False where impossible."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return False
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, reload_in_background, holder, "sighup")
    except (NotImplementedError, RuntimeError):
        return False
    return True


def remove_sighup() -> None:
    """Undo `install_sighup`."""
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError, AttributeError):
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


async def watch_file(holder: SnapshotHolder, path: Path, interval_s: float | None = None) -> None:
    """Reload when `path` changes and then stays unchanged for one interval.

    Waiting for the file to settle avoids loading an export that is still being written
    (a half-written file would be refused anyway, but would log a spurious error).
    """
    interval = interval_s or WATCH_INTERVAL_S
    seen = _signature(path)
    while True:
        await asyncio.sleep(interval)
        now = _signature(path)
        if now == seen or now is None:
            continue
        await asyncio.sleep(interval)
        if _signature(path) != now:
            continue
        seen = now
        log.info("registry file changed", extra={"fields": {"path": str(path)}})
        await asyncio.to_thread(holder.reload_logged, "watch")
