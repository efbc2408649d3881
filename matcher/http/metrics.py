"""Prometheus metrics on a per-app `CollectorRegistry` (two apps in one process never clash).

Labels are route *templates*, methods, status codes, snapshot versions and sources: never
a path with values in it, never anything from a referral. With `--workers N` each worker
process keeps its own counters (a scrape sees the worker that answered it).
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from matcher.service import Snapshot

__all__ = ["CONTENT_TYPE", "Metrics"]

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
COUNT_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000)


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
        self._generated_at = float("nan")
        self.snapshot_age.set_function(self._age)

    def _age(self) -> float:
        return time.time() - self._generated_at

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def observe_shortlist(self, within_radius: int, eligible: int) -> None:
        """Record a shortlist's candidate and eligible counts."""
        self.candidates.observe(within_radius)
        self.eligible.observe(eligible)

    def snapshot_swapped(self, snapshot: Snapshot) -> None:
        """Point the snapshot gauges at a newly installed snapshot."""
        self.snapshot_info.clear()
        self.snapshot_info.labels(snapshot.version, snapshot.source).set(1)
        self._generated_at = snapshot.index.registry.generated_at.timestamp()
        self.snapshot_loaded.set(snapshot.loaded_at.timestamp())

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
