"""Where batch work runs: threads of its own, at the lowest CPU priority.

Allocation and sufficiency are CPU-bound for seconds. In the shared threadpool they would
compete on equal terms with the quick routes for the cores (two on the machines here), in
this worker and, through the cores, in the others. Their own threads run at nice 10 (Linux
keeps a niceness per thread; nice 10 weighs about a tenth of a normal thread), so the
scheduler serves the quick routes first and batch work takes mostly what is left. The body
is parsed before, on a normal-priority thread: parsing is one unit of work with no deadline
check inside, which a starved thread could not finish in time. HiGHS runs in the calling
thread (one thread, see `matcher.batch.solver`), so it inherits the priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

BATCH_THREADS = 2  # batch requests served at once per worker; more wait (their clocks run)
BATCH_NICENESS = 10  # 19 starved it: under load it did not reach its first deadline check

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def lower_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux: per thread; elsewhere as is)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BATCH_NICENESS)


def batch_executor() -> ThreadPoolExecutor:
    """The process's batch threads (created on first use; each lowers its own priority)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                BATCH_THREADS, thread_name_prefix="batch", initializer=lower_priority
            )
        return _executor


async def run_batch(work: Callable[[], T]) -> T:
    """Run `work` on a batch thread and await its result (the event loop stays free)."""
    return await asyncio.get_running_loop().run_in_executor(batch_executor(), work)
