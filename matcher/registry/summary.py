"""A registry summary: version, dates and counts by DPV, lot and status."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from matcher.registry.columns import DPVS, LOTS, REGISTRATIONS, STATUSES
from matcher.registry.index import RegistryIndex


def registry_summary(index: RegistryIndex, source: str) -> dict[str, Any]:
    """What `matcher validate-registry` prints and `GET /v1/registry` returns."""
    reg = index.registry
    by_lot: Counter[str] = Counter()
    for code, dpv in enumerate(DPVS):
        rows = reg.dpv == code
        for bit, lot in enumerate(LOTS):
            count = int(np.count_nonzero(rows & ((reg.lots_mask & (1 << bit)) != 0)))
            if count:
                by_lot[f"{dpv.value}/{lot.value}"] = count
    return {
        "source": source,
        "snapshot_version": reg.version,
        "generated_at": reg.generated_at.isoformat().replace("+00:00", "Z"),
        "listings": reg.size,
        "providers": len(set(reg.provider_ids)),
        "by_dpv": {d.value: int(np.count_nonzero(reg.dpv == i)) for i, d in enumerate(DPVS)},
        "by_lot": dict(sorted(by_lot.items())),
        "by_dpv_status": {
            s.value: int(np.count_nonzero(reg.dpv_status == i)) for i, s in enumerate(STATUSES)
        },
        "by_ofsted_registration": {
            r.value: int(np.count_nonzero(reg.registration == i))
            for i, r in enumerate(REGISTRATIONS)
        },
        "open_alert_listings": int(np.count_nonzero(reg.open_alert_max_severity > 0)),
        "index": {"backend": index.backend, "build_seconds": round(index.build_seconds, 4)},
    }
