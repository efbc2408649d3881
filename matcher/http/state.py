"""The serving Matcher and its reload: build off to the side, then swap one reference.

A request reads `SnapshotHolder.current` once, at its start, and keeps that Matcher to the
end, so a reload never changes the snapshot under a request in flight. Reloads hold a lock
(two never build at once; a second waits and then loads the file as it is by then). A
snapshot that fails validation is refused whole and the old one keeps serving.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from matcher.bids.contract_terms import TermsBook
from matcher.http.logs import EVENT_LOGGER, exception_fields
from matcher.registry.loader import return_freed_memory
from matcher.service import Limits, Matcher, Snapshot, load_snapshot
from matcher.settings import Settings
from matcher.vocabulary.errors import MatcherError, ServiceUnavailableError

log = logging.getLogger(EVENT_LOGGER)

Loader = Callable[[], Snapshot]
Listener = Callable[[Snapshot], None]
ResultListener = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a successful reload replaced."""

    old_snapshot_version: str | None
    new_snapshot_version: str
    source: str
    loaded_at: datetime
    duration_ms: float


def settings_loader(settings: Settings) -> Loader:
    """Load the snapshot the settings name (the embedded registry when no path is set)."""

    def load() -> Snapshot:
        return load_snapshot(
            settings.registry_path,
            settings.policy(),
            settings.index_backend,
            settings.snapshot_cache_folder(),
            settings.validation_helper,
        )

    return load


def release_memory() -> None:
    """After a swap: free the old snapshot now, freeze the new one out of the collector's
    sight, and return freed heap to the OS.

    A serving process holds some 170k long-lived Python objects (measured with the
    5,000-listing default: the registry's, the models', numba's) that never become garbage;
    left to the cyclic collector, each full collection walked them all, a 77 ms pause every
    few hundred rank requests (measured: rank p99 at 100 req/s 58 ms, max 80 ms).
    `gc.freeze()` moves everything alive after the swap to the permanent generation, so
    collections walk only the requests' own objects (full collections then take under
    1 ms); the next swap unfreezes first, so the old snapshot is collected as before.

    Each reload builds its index in a new thread, so glibc spreads the allocations over
    per-thread arenas and keeps the freed pages; measured here, RSS crept up ~5 MB per
    reload of a 5,000-listing snapshot without this (no objects were retained).
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return_freed_memory()


M_ARENA_MAX = -8  # glibc's mallopt() parameter number (malloc.h)
MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process; True when the cap was set.

    Requests and reloads run on many threadpool threads, and glibc gives threads their own
    arenas (up to 8 per core), each keeping the pages it freed. Measured (`benchmarks.soak
    --minutes 3 --reload-every 10`, 5,000 listings, 17 reloads under 40 req/s): RSS at the
    end 229 MB with two arenas, 267 MB uncapped, from 176 MB at start. Call before serving
    threads start.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False


class SnapshotHolder:
    """Holds the current Matcher; `reload` replaces it atomically."""

    def __init__(self, loader: Loader, limits: Limits, terms: TermsBook) -> None:
        self._loader = loader
        self._limits = limits
        self._terms = terms
        self._current: Matcher | None = None
        self._reload_lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._result_listeners: list[ResultListener] = []
        self.last_error: MatcherError | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SnapshotHolder:
        """A holder loading and answering as `settings` say."""
        return cls(settings_loader(settings), settings.limits(), settings.terms())

    @property
    def terms(self) -> TermsBook:
        """The contract terms every Matcher of this holder prices with."""
        return self._terms

    @property
    def current(self) -> Matcher | None:
        """The Matcher serving now (None before the first successful load)."""
        return self._current

    def require(self) -> Matcher:
        """The Matcher serving now, or a 503 when none is loaded."""
        found = self._current
        if found is None:
            raise ServiceUnavailableError("no registry snapshot is loaded yet")
        return found

    def on_swap(self, listener: Listener) -> None:
        """Call `listener(snapshot)` on every installed snapshot (now, if one is serving)."""
        self._listeners.append(listener)
        if self._current is not None:
            listener(self._current.snapshot)

    def on_result(self, listener: ResultListener) -> None:
        """Call `listener("loaded" | "refused" | "failed")` after every reload attempt."""
        self._result_listeners.append(listener)

    def install(self, snapshot: Snapshot) -> Matcher | None:
        """Serve `snapshot` from now on; returns the Matcher it replaces."""
        matcher = Matcher(snapshot, limits=self._limits, terms=self._terms)
        old, self._current = self._current, matcher
        for listener in self._listeners:
            listener(snapshot)
        return old

    def reload(self) -> ReloadOutcome:
        """Load, validate and index a new snapshot in this thread, then swap it in.

        Raises the loader's MatcherError (usually a SnapshotError) and keeps the old
        snapshot when the new one is refused.
        """
        with self._reload_lock:
            start = time.perf_counter()
            try:
                snapshot = self._loader()
            except MatcherError as exc:
                self.last_error = exc
                self._tell("refused")
                raise
            except Exception:
                self.last_error = MatcherError("snapshot load failed")
                self._tell("failed")
                raise
            old = self.install(snapshot)
            old_version = old.snapshot.version if old else None
            del old  # requests still on it keep their own reference; ours goes now
            release_memory()
            self.last_error = None
            self._tell("loaded")
            return ReloadOutcome(
                old_snapshot_version=old_version,
                new_snapshot_version=snapshot.version,
                source=snapshot.source,
                loaded_at=snapshot.loaded_at,
                duration_ms=round((time.perf_counter() - start) * 1000, 1),
            )

    def _tell(self, result: str) -> None:
        for listener in self._result_listeners:
            listener(result)

    def reload_logged(self, trigger: str) -> ReloadOutcome | None:
        """`reload`, logging the outcome instead of raising (for signals and watchers)."""
        try:
            outcome = self.reload()
        except MatcherError as exc:
            log_reload_failure(trigger, exc)
            return None
        except Exception as exc:
            fields = {"trigger": trigger, **exception_fields(exc)}
            log.error(
                "snapshot load failed; previous snapshot keeps serving", extra={"fields": fields}
            )
            return None
        log_reload(trigger, outcome)
        return outcome


def log_reload(trigger: str, outcome: ReloadOutcome) -> None:
    """One line per successful reload."""
    fields = {
        "trigger": trigger,
        "old_snapshot_version": outcome.old_snapshot_version,
        "snapshot_version": outcome.new_snapshot_version,
        "source": outcome.source,
        "duration_ms": outcome.duration_ms,
    }
    log.info("snapshot loaded", extra={"fields": fields})


def log_reload_failure(trigger: str, exc: MatcherError) -> None:
    """One line per refused snapshot: the error code, message and how many problems."""
    fields = {
        "trigger": trigger,
        "error_code": exc.code,
        "error": exc.message,
        "problems": len(exc.details),
    }
    log.error("snapshot refused; previous snapshot keeps serving", extra={"fields": fields})
