"""Service-wide policy the index is built under (from settings, never per request)."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.vocabulary.catalogue import AlertSeverity


@dataclass(frozen=True, slots=True)
class Policy:
    """Which open safeguarding alerts exclude a listing (DOMAIN rule 3)."""

    excluding_alert_severity: AlertSeverity = AlertSeverity.SERIOUS
