"""Prometheus metrics on a per-app `CollectorRegistry` (two apps in one process never clash).

Labels are route *templates*, methods, status codes, snapshot versions and sources: never
a path with values in it, never anything from a referral. Methods outside the standard set
are counted as `other` (a client can send any token as a method: each must not become a
series). With `--workers N` each worker process keeps its own counters (a scrape sees the
worker that answered it).
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from matcher.service import Snapshot

__all__ = ["CONTENT_TYPE", "Metrics"]

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
COUNT_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000)
SOLVE_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# optimal / time_limit: answered (the solver's status); time_limit_exceeded: the 503
ALLOCATION_STATUSES = ("optimal", "time_limit", "time_limit_exceeded")


class Metrics:
    """The service's metrics and the registry they are exposed from."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "matcher_http_requests", "HTTP requests answered.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "matcher_http_request_duration_seconds", "Time from request to full response.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS_S, registry=r,
        )  # fmt: skip
        self.candidates = Histogram(
            "matcher_shortlist_candidates", "Listings within the radius, per shortlist.",
            buckets=COUNT_BUCKETS, registry=r,
        )  # fmt: skip
        self.eligible = Histogram(
            "matcher_shortlist_eligible", "Eligible listings within the radius, per shortlist.",
            buckets=COUNT_BUCKETS, registry=r,
        )  # fmt: skip
        self.snapshot_info = Gauge(
            "matcher_snapshot_info", "The serving registry snapshot (value 1).",
            ["snapshot_version", "source"], registry=r,
        )  # fmt: skip
        self.snapshot_age = Gauge(
            "matcher_snapshot_age_seconds",
            "Seconds since the serving snapshot was generated (its generated_at).",
            registry=r,
        )
        self.snapshot_loaded = Gauge(
            "matcher_snapshot_loaded_timestamp_seconds",
            "Unix time the serving snapshot was loaded.",
            registry=r,
        )
        self.reloads = Counter(
            "matcher_snapshot_reloads", "Snapshot reload attempts.", ["outcome"], registry=r
        )
        self.allocations = Counter(
            "matcher_allocations", "Allocations by outcome: optimal, time_limit (the best "
            "plan found at the time limit), time_limit_exceeded (503: bids not ranked in time).",
            ["status"], registry=r,
        )  # fmt: skip
        self.allocation_solve = Histogram(
            "matcher_allocation_solve_seconds",
            "Time in the MILP stages of an answered allocation (ranking the bids apart).",
            ["status"], buckets=SOLVE_BUCKETS_S, registry=r,
        )  # fmt: skip
        for status in ALLOCATION_STATUSES:  # every series exists from the start, at 0
            self.allocations.labels(status)
        self._generated_at = float("nan")
        self.snapshot_age.set_function(self._age)

    def _age(self) -> float:
        return time.time() - self._generated_at

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        labels = (method if method in METHODS else "other", route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def observe_shortlist(self, within_radius: int, eligible: int) -> None:
        """Record a shortlist's candidate and eligible counts."""
        self.candidates.observe(within_radius)
        self.eligible.observe(eligible)

    def observe_allocation(self, status: str, solve_s: float | None) -> None:
        """Count one allocation by outcome (`ALLOCATION_STATUSES`); its solve time if any."""
        self.allocations.labels(status).inc()
        if solve_s is not None:
            self.allocation_solve.labels(status).observe(solve_s)

    def snapshot_swapped(self, snapshot: Snapshot) -> None:
        """Point the snapshot gauges at a newly installed snapshot."""
        self.snapshot_info.clear()
        self.snapshot_info.labels(snapshot.version, snapshot.source).set(1)
        self._generated_at = snapshot.index.registry.generated_at.timestamp()
        self.snapshot_loaded.set(snapshot.loaded_at.timestamp())

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
