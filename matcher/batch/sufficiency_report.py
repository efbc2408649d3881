"""Sufficiency answers: aggregate per-referral supply, and write it out as a report folder.

`sufficiency_response` runs `matcher.batch.sufficiency.analyse` and `build_response` turns its
rows into the response model (one row per referral and the aggregates by placing authority,
DPV/lot, need and age band).
`write_report` writes Markdown, CSV tables and PNG charts (matplotlib, Agg backend: files
only): thin-market share by need, and a map of authorities shaded by median eligible count
drawn from geodata's boundaries. matplotlib is imported only when a report is written.
"""

from __future__ import annotations

import csv
import hashlib
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

import geodata
from matcher.batch.deadline import Deadline
from matcher.batch.models import (
    AggregatesOut,
    GroupOut,
    NeedGapOut,
    ReferralSupplyOut,
    SufficiencyResponse,
)
from matcher.batch.sufficiency import ReferralSupply, analyse
from matcher.match.request import METRES_PER_MILE, ShortlistRequest
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.audit import canonical_json
from matcher.vocabulary.catalogue import NEEDS_BY_BIT
from matcher.vocabulary.errors import LimitExceededError

THIN_BELOW = 3
METHOD = "sufficiency-v2"
AGE_BANDS = ((0, 4, "0-4"), (5, 10, "5-10"), (11, 15, "11-15"), (16, 17, "16-17"), (18, 99, "18+"))


def age_band(age: int) -> str:
    """The reporting age band of an age."""
    return next(label for low, high, label in AGE_BANDS if low <= age <= high)


def need_names(mask: int) -> list[str]:
    """Need codes of a need bitmask, in catalogue order."""
    return [need.value for bit, need in enumerate(NEEDS_BY_BIT) if mask >> bit & 1]


def referral_out(s: ReferralSupply, req: ShortlistRequest, radii: list[float]) -> ReferralSupplyOut:
    """One referral's row of the answer."""
    c = s.criteria
    return ReferralSupplyOut.model_construct(  # built from validated data: no revalidation
        referral_id=req.referral_id,
        placing_authority=c.authority_code,
        dpv=c.dpv.value,
        lot=c.lot.value,
        age_band=age_band(c.age),
        needs=[n.value for n in req.child.needs],
        eligible={f"{r:g}": n for r, n in zip(radii, s.eligible, strict=True)},
        candidates=s.candidates,
        nearest_eligible_miles=None
        if s.nearest_m is None
        else round(s.nearest_m / METRES_PER_MILE, 3),
        binding_constraint=s.binding,
        binding_constraint_excluded=s.binding_excluded,
        thin_market=s.eligible[0] < THIN_BELOW,
        in_area_possible=s.in_area,
        need_gaps=need_names(s.need_gaps),
    )


def _group(rows: list[ReferralSupplyOut], first: str, name: str | None = None) -> GroupOut:
    counts = [r.eligible[first] for r in rows]
    return GroupOut(
        name=name,
        referrals=len(rows),
        thin_market_share=round(sum(r.thin_market for r in rows) / len(rows), 4),
        median_eligible=float(statistics.median(counts)),
        in_area_share=round(sum(r.in_area_possible for r in rows) / len(rows), 4),
    )


def aggregate(rows: list[ReferralSupplyOut], radii: list[float]) -> AggregatesOut:
    """Aggregates by authority, DPV/lot, need (a referral counts once per need; `none` for
    no needs) and age band; need gaps and binding constraints over the batch."""
    first = f"{radii[0]:g}"
    names = {a.code: a.name for a in geodata.authorities()}

    def by(
        key: Callable[[ReferralSupplyOut], Iterable[str]], named: bool = False
    ) -> dict[str, GroupOut]:
        buckets: dict[str, list[ReferralSupplyOut]] = defaultdict(list)
        for r in rows:
            for k in key(r):
                buckets[k].append(r)
        return {
            k: _group(v, first, names.get(k) if named else None) for k, v in sorted(buckets.items())
        }

    gaps = Counter(g for r in rows for g in r.need_gaps)
    thin_gaps = Counter(g for r in rows if r.thin_market for g in r.need_gaps)
    return AggregatesOut(
        radii_miles=radii,
        thin_market_radius_miles=radii[0],
        thin_market_threshold=THIN_BELOW,
        overall=_group(rows, first),
        by_authority=by(lambda r: [r.placing_authority], named=True),
        by_dpv_lot=by(lambda r: [f"{r.dpv}/{r.lot}"]),
        by_need=by(lambda r: r.needs or ["none"]),
        by_age_band=by(lambda r: [r.age_band]),
        need_gaps={
            n.value: NeedGapOut(referrals=gaps[n.value], thin_market_referrals=thin_gaps[n.value])
            for n in NEEDS_BY_BIT
        },
        binding_constraints=dict(
            sorted(Counter(r.binding_constraint or "none" for r in rows).items())
        ),
    )


def batch_decision_id(
    requests: list[ShortlistRequest], radii: list[float], snapshot_version: str
) -> str:
    """A stable hash of the referrals (in order), the radii and the snapshot: the same
    inputs give the same id (DOMAIN rule 9). Each referral is hashed as its canonical JSON
    (fields in schema order, defaults filled in), which is much faster than one big dump."""
    head = {"snapshot_version": snapshot_version, "radii_miles": radii, "method": METHOD}
    digest = hashlib.sha256(canonical_json(head).encode())
    for req in requests:
        digest.update(req.model_dump_json().encode())
        digest.update(b"\n")
    return "dec_" + digest.hexdigest()[:20]


def build_response(
    supply: list[ReferralSupply],
    requests: list[ShortlistRequest],
    radii: list[float],
    snapshot_version: str,
) -> SufficiencyResponse:
    """The response model: aggregates, then one row per referral (input order)."""
    rows = [referral_out(s, requests[s.position], radii) for s in supply]
    return SufficiencyResponse(
        decision_id=batch_decision_id(requests, radii, snapshot_version),
        snapshot_version=snapshot_version,
        aggregates=aggregate(rows, radii),
        referrals=rows,
    )


def write_report(
    answer: SufficiencyResponse, out: Path, elapsed_s: float | None = None
) -> list[Path]:
    """Write summary.md, CSV tables and PNG charts into `out`; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    agg = answer.aggregates
    written = [
        _referrals_csv(out / "referrals.csv", answer.referrals, agg.radii_miles),
        _groups_csv(out / "by_authority.csv", agg.by_authority, "authority_code"),
        _groups_csv(out / "by_dpv_lot.csv", agg.by_dpv_lot, "dpv_lot"),
        _groups_csv(out / "by_need.csv", agg.by_need, "need"),
        _groups_csv(out / "by_age_band.csv", agg.by_age_band, "age_band"),
        _rows_csv(
            out / "need_gaps.csv",
            ["need", "referrals_gaining_an_option", "of_which_thin_market"],
            [[k, v.referrals, v.thin_market_referrals] for k, v in agg.need_gaps.items()],
        ),
        _rows_csv(
            out / "binding_constraints.csv",
            ["binding_constraint", "referrals"],
            [[k, v] for k, v in agg.binding_constraints.items()],
        ),
        _thin_by_need_chart(out / "thin_market_by_need.png", agg),
        _median_map(out / "median_eligible_map.png", agg),
    ]
    written.append(_summary(out / "summary.md", answer, elapsed_s))
    return written


def _rows_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _referrals_csv(path: Path, rows: list[ReferralSupplyOut], radii: list[float]) -> Path:
    keys = [f"{r:g}" for r in radii]
    return _rows_csv(
        path,
        ["referral_id", "placing_authority", "dpv", "lot", "age_band", "needs",
         *[f"eligible_{k}mi" for k in keys], "candidates", "nearest_eligible_miles",
         "binding_constraint", "binding_constraint_excluded", "thin_market",
         "in_area_possible", "need_gaps"],
        [
            [r.referral_id, r.placing_authority, r.dpv, r.lot, r.age_band, ";".join(r.needs),
             *[r.eligible[k] for k in keys], r.candidates,
             "" if r.nearest_eligible_miles is None else r.nearest_eligible_miles,
             r.binding_constraint or "", r.binding_constraint_excluded, r.thin_market,
             r.in_area_possible, ";".join(r.need_gaps)]
            for r in rows
        ],
    )  # fmt: skip


def _groups_csv(path: Path, table: dict[str, GroupOut], key: str) -> Path:
    return _rows_csv(
        path,
        [key, "name", "referrals", "thin_market_share", "median_eligible", "in_area_share"],
        [[k, g.name or "", g.referrals, g.thin_market_share, g.median_eligible, g.in_area_share]
         for k, g in table.items()],
    )  # fmt: skip


def _thin_by_need_chart(path: Path, agg: AggregatesOut) -> Path:
    import matplotlib.pyplot as plt

    by_need = agg.by_need
    names = sorted(by_need, key=lambda n: (by_need[n].thin_market_share, n))
    fig, ax = plt.subplots(figsize=(8, 6))
    bars = ax.barh(names, [100 * by_need[n].thin_market_share for n in names], color="#3b6ea5")
    ax.bar_label(bars, labels=[f"n={by_need[n].referrals}" for n in names], padding=3, fontsize=8)
    ax.set_xlabel(
        f"referrals with fewer than {agg.thin_market_threshold} eligible listings within "
        f"{agg.thin_market_radius_miles:g} miles (%)"
    )
    ax.set_title("Thin markets by need")
    ax.set_xlim(0, 110)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# Classes of the map, split at the thin-market threshold of 3; a median can end in .5.
# Classed, not continuous: one dense London borough would otherwise stretch the scale and
# leave the rest of England one colour.
MAP_CLASS_EDGES = (0.0, 1.0, 3.0, 5.0, 10.0, 20.0, 50.0)
MAP_CLASS_LABELS = (
    "under 1", "1 to 2.5", "3 to 4.5", "5 to 9.5", "10 to 19.5", "20 to 49.5", "50 or more",
)  # fmt: skip


def map_class(median: float) -> int:
    """The map class (0-6) of a median eligible count: the last edge at or below it."""
    return sum(1 for edge in MAP_CLASS_EDGES[1:] if median >= edge)


def _median_map(path: Path, agg: AggregatesOut) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    colours = colormaps["YlGnBu"].resampled(len(MAP_CLASS_LABELS))
    no_referrals = "#dddddd"
    polygons, faces, london = [], [], []
    for authority in geodata.authorities():
        shape = geodata.boundary(authority.code)
        group = agg.by_authority.get(authority.code)
        face = no_referrals if group is None else colours(map_class(group.median_eligible))
        for poly in getattr(shape, "geoms", [shape]):
            lon, lat = poly.exterior.xy
            east, north = geodata.to_bng(lat, lon)  # metres, so the map keeps its shape
            ring = np.column_stack([east, north]) / 1000.0
            polygons.append(ring)
            faces.append(face)
            london.append(authority.code.startswith("E09"))
    fig, (ax, inset) = plt.subplots(1, 2, figsize=(11, 8), gridspec_kw={"width_ratios": [2.0, 1.3]})
    for target, london_only in ((ax, False), (inset, True)):
        chosen = [k for k, is_london in enumerate(london) if is_london or not london_only]
        target.add_collection(PolyCollection(
            [polygons[k] for k in chosen], facecolors=[faces[k] for k in chosen],
            edgecolors="white", linewidths=0.6 if london_only else 0.3,
        ))  # fmt: skip
        target.autoscale_view()
        target.set_aspect("equal")
        target.set_axis_off()
    inset.set_title("London (enlarged)", fontsize=10)
    fig.suptitle(
        f"Median eligible listings within {agg.thin_market_radius_miles:g} miles per "
        "referral, by placing authority"
    )
    handles = [Patch(facecolor=colours(k), label=label) for k, label in enumerate(MAP_CLASS_LABELS)]
    handles.append(Patch(facecolor=no_referrals, label="no referrals"))
    inset.legend(handles=handles, title="median eligible listings", loc="upper center",
                 bbox_to_anchor=(0.5, -0.05), ncols=2, fontsize=9, title_fontsize=9,
                 frameon=False)  # fmt: skip
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _summary(path: Path, answer: SufficiencyResponse, elapsed_s: float | None) -> Path:
    agg = answer.aggregates
    overall = agg.overall
    radius = f"{agg.thin_market_radius_miles:g}"
    thinnest = sorted(
        agg.by_authority.items(), key=lambda kv: (-kv[1].thin_market_share, -kv[1].referrals)
    )
    gaps = sorted(agg.need_gaps.items(), key=lambda kv: (-kv[1].referrals, kv[0]))
    table = "| {} | {} | {} | {} | {} |"
    lines = [
        "# Sufficiency report",
        "",
        f"Snapshot `{answer.snapshot_version}`, decision `{answer.decision_id}`; "
        f"{overall.referrals} referrals; radii {', '.join(f'{r:g}' for r in agg.radii_miles)} "
        "miles." + (f" Computed in {elapsed_s:.2f} s." if elapsed_s is not None else ""),
        "",
        f"- Thin markets (fewer than {agg.thin_market_threshold} eligible listings within "
        f"{radius} miles): {_pct(overall.thin_market_share)} of referrals",
        f"- Median eligible listings per referral within {radius} miles: "
        f"{overall.median_eligible:g}",
        f"- Referrals with an eligible listing inside their own authority (section 22G): "
        f"{_pct(overall.in_area_share)}",
        "",
        "![Thin markets by need](thin_market_by_need.png)",
        "",
        "## Authorities with the thinnest markets",
        "",
        table.format("authority", "referrals", "thin share", "median eligible", "in-area share"),
        "|---|---|---|---|---|",
        *[
            table.format(
                f"{g.name} ({code})",
                g.referrals,
                _pct(g.thin_market_share),
                f"{g.median_eligible:g}",
                _pct(g.in_area_share),
            )
            for code, g in thinnest[:15]
        ],
        "",
        "![Median eligible listings by authority](median_eligible_map.png)",
        "",
        "## By DPV and lot",
        "",
        table.format("DPV/lot", "referrals", "thin share", "median eligible", "in-area share"),
        "|---|---|---|---|---|",
        *[
            table.format(
                k,
                g.referrals,
                _pct(g.thin_market_share),
                f"{g.median_eligible:g}",
                _pct(g.in_area_share),
            )
            for k, g in agg.by_dpv_lot.items()
        ],
        "",
        "## What to grow: one more provider of a need nearby",
        "",
        "Referrals with a listing within the thin-market radius that fails on that need "
        "alone (every other criterion met): that provider adding the need would give them "
        "an option.",
        "",
        "| need | referrals gaining an option | of which in thin markets |",
        "|---|---|---|",
        *[f"| {need} | {g.referrals} | {g.thin_market_referrals} |" for need, g in gaps],
        "",
        f"## Binding constraints (the reason removing most candidates within {radius} miles)",
        "",
        "| constraint | referrals |",
        "|---|---|",
        *[
            f"| {k} | {v} |"
            for k, v in sorted(agg.binding_constraints.items(), key=lambda kv: -kv[1])
        ],
        "",
        "Tables: `referrals.csv`, `by_authority.csv`, `by_dpv_lot.csv`, `by_need.csv`, "
        "`by_age_band.csv`, `need_gaps.csv`, `binding_constraints.csv`.",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def checked_radii(radii_miles: list[float], max_radius_miles: float) -> list[float]:
    """The distinct radii in increasing order; a radius above the configured maximum is a
    422 naming `radii_miles`."""
    radii = sorted(set(radii_miles))
    if radii[-1] > max_radius_miles:
        raise LimitExceededError(
            f"radius above the configured maximum of {max_radius_miles:g} miles",
            field="radii_miles",
            limit=max_radius_miles,
        )
    return radii


def sufficiency_response(
    index: RegistryIndex,
    snapshot_version: str,
    requests: list[ShortlistRequest],
    radii_miles: list[float],
    max_referrals: int,
    max_radius_miles: float,
    deadline: Deadline | None = None,
) -> SufficiencyResponse:
    """The whole answer: aggregates, then one row per referral (input order).

    With a `deadline`, the analysis checks it between units of work and once more before
    the answer is built: past it, `TimeLimitExceededError` (503).
    """
    if len(requests) > max_referrals:
        raise LimitExceededError(
            f"too many referrals: {len(requests)} > {max_referrals}",
            field="referrals",
            limit=max_referrals,
        )
    radii = checked_radii(radii_miles, max_radius_miles)
    supply = analyse(index, requests, radii, max_radius_miles, deadline=deadline)
    if deadline is not None:
        deadline.check("aggregating", f"all {len(requests)} referrals analysed")
    return build_response(supply, requests, radii, snapshot_version)
