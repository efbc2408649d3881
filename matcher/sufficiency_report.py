"""Write a sufficiency answer as a report folder: Markdown, CSV tables and PNG charts.

Charts use matplotlib's Agg backend (files only, no display): thin-market share by need, and
a map of authorities shaded by median eligible count, drawn from geodata's boundaries.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import geodata


def write_report(answer: dict[str, Any], out: Path, elapsed_s: float | None = None) -> list[Path]:
    """Write summary.md, *.csv and *.png into `out`; return the files written."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    agg = answer["aggregates"]
    written = [
        _csv(out / "referrals.csv", answer["referrals"]),
        _table_csv(out / "by_authority.csv", agg["by_authority"], "authority_code"),
        _table_csv(out / "by_dpv_lot.csv", agg["by_dpv_lot"], "dpv_lot"),
        _table_csv(out / "by_need.csv", agg["by_need"], "need"),
        _table_csv(out / "by_age_band.csv", agg["by_age_band"], "age_band"),
        _thin_by_need_chart(out / "thin_market_by_need.png", agg["by_need"]),
        _median_map(out / "median_eligible_map.png", agg["by_authority"]),
    ]
    written.append(_summary(out / "summary.md", answer, elapsed_s))
    return written


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    flat = []
    for row in rows:
        item = {k: v for k, v in row.items() if k not in ("eligible", "need_gaps")}
        item.update({f"eligible_{r}mi": n for r, n in row["eligible"].items()})
        item["need_gaps"] = ";".join(row["need_gaps"])
        flat.append(item)
    with path.open("w", newline="") as f:
        if flat:
            writer = csv.DictWriter(f, fieldnames=list(flat[0]))
            writer.writeheader()
            writer.writerows(flat)
    return path


def _table_csv(path: Path, table: dict[str, dict[str, Any]], key: str) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([key, "referrals", "thin_market_share", "median_eligible", "in_area_share"])
        for name, row in table.items():
            writer.writerow([name, row["referrals"], row["thin_market_share"],
                             row["median_eligible"], row["in_area_share"]])  # fmt: skip
    return path


def _thin_by_need_chart(path: Path, by_need: dict[str, dict[str, Any]]) -> Path:
    import matplotlib.pyplot as plt

    names = sorted(by_need, key=lambda n: by_need[n]["thin_market_share"])
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.barh(names, [100 * by_need[n]["thin_market_share"] for n in names], color="#3b6ea5")
    ax.set_xlabel("referrals with fewer than 3 eligible listings within the first radius (%)")
    ax.set_title("Thin markets by need")
    ax.set_xlim(0, 100)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _median_map(path: Path, by_authority: dict[str, dict[str, Any]]) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    values = {code: row["median_eligible"] for code, row in by_authority.items()}
    top = max(values.values(), default=1.0) or 1.0
    norm = Normalize(vmin=0, vmax=top)
    cmap = colormaps["viridis"]
    fig, ax = plt.subplots(figsize=(7, 9))
    for authority in geodata.authorities():
        shape = geodata.boundary(authority.code)
        polygons = getattr(shape, "geoms", [shape])
        value = values.get(authority.code)
        face = "#dddddd" if value is None else cmap(norm(value))
        for poly in polygons:
            xs, ys = poly.exterior.xy
            ax.fill(xs, ys, facecolor=face, edgecolor="white", linewidth=0.2)
    ax.set_aspect(1.6)
    ax.set_axis_off()
    ax.set_title(
        "Median eligible listings per referral, by placing authority\n(grey: no referrals)"
    )
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.6,
                 label="median eligible listings")  # fmt: skip
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _summary(path: Path, answer: dict[str, Any], elapsed_s: float | None) -> Path:
    agg = answer["aggregates"]
    overall = agg["overall"]
    names = {a.code: a.name for a in geodata.authorities()}
    thinnest = sorted(agg["by_authority"].items(), key=lambda kv: -kv[1]["thin_market_share"])
    gaps = sorted(agg["need_gaps"].items(), key=lambda kv: -kv[1])
    binding = agg["binding_constraints"]
    lines = [
        "# Sufficiency report",
        "",
        f"Snapshot `{answer['snapshot_version']}`; {overall['referrals']} referrals; radii "
        f"{', '.join(f'{r:g}' for r in agg['radii_miles'])} miles."
        + (f" Computed in {elapsed_s:.2f} s." if elapsed_s is not None else ""),
        "",
        f"- Thin markets (< {agg['thin_market_threshold']} eligible within "
        f"{agg['radii_miles'][0]:g} miles): {100 * overall['thin_market_share']:.1f}% of referrals",
        f"- Median eligible listings per referral: {overall['median_eligible']:g}",
        f"- Referrals that could be placed in-area: {100 * overall['in_area_share']:.1f}%",
        "",
        "## Authorities with the thinnest markets",
        "",
        "| authority | referrals | thin share | median eligible | in-area share |",
        "|---|---|---|---|---|",
        *[
            f"| {names.get(code, code)} ({code}) | {row['referrals']} | "
            f"{100 * row['thin_market_share']:.0f}% | {row['median_eligible']:g} | "
            f"{100 * row['in_area_share']:.0f}% |"
            for code, row in thinnest[:15]
        ],
        "",
        "## What to grow: referrals that would gain an option from one more provider of a need",
        "",
        "| need | referrals gaining an option |",
        "|---|---|",
        *[f"| {need} | {count} |" for need, count in gaps if count],
        "",
        "## Binding constraints (criterion removing most candidates)",
        "",
        "| constraint | referrals |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in sorted(binding.items(), key=lambda kv: -kv[1])],
        "",
        "Charts: `thin_market_by_need.png`, `median_eligible_map.png`. Tables: `*.csv`.",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path
