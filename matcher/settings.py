"""Settings in one place, from `MATCHER_*` environment variables, validated at start.

Nonsense fails fast (a negative limit, an unknown severity, a port out of range) with the
variable named, before any snapshot is loaded.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.bids.contract_terms import TermsBook, terms_book
from matcher.registry.cache import default_folder as default_cache_folder
from matcher.registry.policy import Policy
from matcher.service import Limits
from matcher.vocabulary.catalogue import AlertSeverity


def _empty_is_unset(value: object) -> object:
    """An empty variable means the default, not the current directory."""
    return None if value == "" else value


class Settings(BaseSettings):
    """Service settings. Every field maps to `MATCHER_<FIELD>` (e.g. MATCHER_REGISTRY_PATH)."""

    model_config = SettingsConfigDict(env_prefix="MATCHER_", extra="ignore", frozen=True)

    registry_path: Path | None = Field(
        default=None, description="Snapshot file (.json or .json.gz); unset = embedded default."
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    admin_token: SecretStr | None = Field(
        default=None, description="Bearer token for /v1/admin/*; unset = admin routes absent."
    )
    api_keys: SecretStr | None = Field(
        default=None, description="Comma-separated client keys for X-API-Key; unset = open."
    )
    max_body_bytes: Annotated[int, Field(ge=1024, le=100_000_000)] = 2_000_000
    max_batch_body_bytes: Annotated[
        int,
        Field(
            ge=1024,
            le=500_000_000,
            description="Body limit of /v1/allocate and /v1/sufficiency: a council's year of "
            "referrals (10,000 are about 3.4 MB) must fit.",
        ),
    ] = 32_000_000
    max_bids: Annotated[int, Field(ge=1, le=10_000)] = 200
    max_radius_miles: Annotated[float, Field(gt=0, le=1000)] = 200.0
    max_batch_referrals: Annotated[int, Field(ge=1, le=100_000)] = 20_000
    max_allocation_referrals: Annotated[int, Field(ge=1, le=5_000)] = 500
    allocation_time_limit_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="Wall-clock limit of one allocation (ranking its bids and every "
            "solver stage); at the limit the answer is the best plan found, status time_limit.",
        ),
    ] = 10.0
    sufficiency_time_limit_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="Wall-clock limit of one sufficiency request; past it, 503 "
            "time_limit_exceeded.",
        ),
    ] = 60.0
    market_feedback_time_limit_s: Annotated[
        float,
        Field(
            gt=0,
            le=3600,
            description="Wall-clock limit of one market feedback request; past it, 503 "
            "time_limit_exceeded.",
        ),
    ] = 60.0
    alert_excluding_severity: AlertSeverity = AlertSeverity.SERIOUS
    residential_long_placement_percent: Annotated[Decimal, Field(ge=0, le=100)] = Decimal("3")
    index_backend: Literal["packed", "strtree", "rtree"] = "packed"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    cors_origins: str = Field(default="", description="Comma-separated origins; empty = no CORS.")
    timeout_keep_alive_s: Annotated[int, Field(ge=1, le=300)] = 5
    body_timeout_s: Annotated[
        float, Field(gt=0, le=300, description="A request body stalled this long gets 408.")
    ] = 10.0
    header_timeout_s: Annotated[
        float,
        Field(
            gt=0,
            le=300,
            description="A request line and headers not complete this long after the "
            "connection opens (or the last response) get 408 and the connection is closed.",
        ),
    ] = 10.0
    request_threads: Annotated[
        int,
        Field(
            ge=1,
            le=64,
            description="Large matching requests (bodies above 8 KiB) computed at once per "
            "worker process (the threadpool's tokens); more wait their turn. Smaller ones "
            "compute on the event loop. Matching is CPU work under one interpreter lock: 1 "
            "is the fastest (measured), more only switch between requests.",
        ),
    ] = 1
    watch_registry: bool = Field(default=False, description="Reload when the file changes.")
    snapshot_cache: bool = Field(
        default=True,
        description="Keep validated snapshots as columns so workers and reloads read them "
        "instead of validating the file again.",
    )
    validation_helper: bool = Field(
        default=True,
        description="Validate a large snapshot file on two processes: a helper process "
        "decodes part of its listings beside the loader (the same registry; faster where a "
        "second core is free).",
    )
    snapshot_cache_dir: Annotated[Path | None, BeforeValidator(_empty_is_unset)] = Field(
        default=None,
        description="Folder of the snapshot cache; unset = $XDG_CACHE_HOME/matcher/snapshots "
        "or ~/.cache/matcher/snapshots (none without a home: no cache).",
    )

    def snapshot_cache_folder(self) -> Path | None:
        """Where validated snapshots are kept, or None when the cache is off."""
        if not self.snapshot_cache:
            return None
        return self.snapshot_cache_dir or default_cache_folder()

    def policy(self) -> Policy:
        """The eligibility policy these settings define."""
        return Policy(excluding_alert_severity=self.alert_excluding_severity)

    def limits(self) -> Limits:
        """Request limits."""
        return Limits(
            max_radius_miles=self.max_radius_miles,
            max_bids=self.max_bids,
            max_batch_referrals=self.max_batch_referrals,
            max_allocation_referrals=self.max_allocation_referrals,
            allocation_time_limit_s=self.allocation_time_limit_s,
            sufficiency_time_limit_s=self.sufficiency_time_limit_s,
            market_feedback_time_limit_s=self.market_feedback_time_limit_s,
        )

    def terms(self) -> TermsBook:
        """Contract terms in force."""
        return terms_book(self.residential_long_placement_percent)

    def api_key_list(self) -> list[str]:
        """Configured client API keys (empty = keys not required)."""
        if self.api_keys is None:
            return []
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]

    def cors_origin_list(self) -> list[str]:
        """Explicit CORS origins (empty = CORS off)."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
