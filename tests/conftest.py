"""Shared fixtures: small generated registries, indexed once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.service import Matcher, Snapshot

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
settings.register_profile(
    "deep", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def _private_snapshot_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers the tests start keep their snapshot cache in a temporary folder, not ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MATCHER_SNAPSHOT_CACHE_DIR", str(tmp_path_factory.mktemp("snapshot-cache")))
        yield


@pytest.fixture(scope="session")
def index() -> RegistryIndex:
    """3,000 synthetic listings across England (seed 7)."""
    return RegistryIndex.build(generate(3000, seed=7))


@pytest.fixture(scope="session")
def matcher(index: RegistryIndex) -> Matcher:
    """A Matcher over the session registry."""
    return Matcher(Snapshot(index=index, source="test"))


def referral(**overrides: Any) -> dict[str, Any]:
    """A valid shortlist request body (Harrow, residential standard, boy of 14)."""
    body: dict[str, Any] = {
        "referral_id": "R-TEST-1",
        "placing_authority": "Harrow",
        "dpv": "residential",
        "lot": "standard",
        "child": {"age": 14, "gender": "male", "needs": ["emotional_behavioural"]},
        "sibling_group_size": 1,
        "expected_duration_weeks": 52,
        "start_date": date(2026, 12, 1).isoformat(),
        "max_distance_miles": 20,
    }
    body.update(overrides)
    return body
