"""The market feedback as a report folder: Markdown, CSV and an SVG chart per provider, and
for the commissioner the same for the market.

    DIR/summary.md, market_changes.csv, best_single_changes.csv, providers.csv, market.svg
    DIR/providers/<provider id>/summary.md, listings.csv, chart.svg

(with `--provider P`, only that provider's folder). Charts are written as SVG text, with no
plotting library, so a report of a thousand providers takes seconds.
"""

from __future__ import annotations

import csv
import re
from html import escape
from pathlib import Path

from matcher.batch.market_models import (
    ChangeOut,
    MarketFeedbackResponse,
    MarketOut,
    ProviderFeedbackOut,
    StatsOut,
)
from matcher.vocabulary.feedback_codes import Change

# Series: (colour, legend). Okabe-Ito colours, distinguishable with colour-blindness.
SERIES = {
    "won": ("#009E73", "won"),
    "price": ("#E69F00", "lost on price"),
    "match": ("#56B4E9", "lost on match"),
    "tie_rule": ("#CC79A7", "lost by the tie rule"),
    "rejected": ("#999999", "rejected"),
    "eligible": ("#009E73", "eligible"),
    "near miss": ("#F0E442", "near miss (one reason)"),
    "excluded": ("#D55E00", "excluded (2+ reasons)"),
    "opened": ("#F0E442", "would have been eligible"),
}
CHAR_PX = 6.2  # average width of a character at font-size 11 (for layout only)
MAX_CHART_ROWS = 30


def write_report(answer: MarketFeedbackResponse, folder: Path, elapsed_s: float) -> list[Path]:
    """Write the report; the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    if answer.market is not None:
        files += _market_files(answer, answer.market, folder, elapsed_s)
    for provider in answer.providers:
        sub = folder / "providers" / _safe(provider.provider_id)
        sub.mkdir(parents=True, exist_ok=True)
        files += [
            _provider_summary(answer, provider, sub / "summary.md"),
            _listings_csv(provider, sub / "listings.csv"),
            _chart(provider, sub / "chart.svg"),
        ]
    return files


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def change_words(change: ChangeOut, listing: str | None = None) -> str:
    """A single change as a sentence fragment ("one more vacancy at L1: eligible for 3")."""
    at = f" at {listing}" if listing else ""
    if change.change == Change.LOWER_FEE:
        return (
            f"a lower fee{at} (median cut {_pct(change.median_fee_cut_percent)}) would "
            f"have won {change.referrals} referral{_s(change.referrals)}"
        )
    what = (
        "one more vacancy"
        if change.change == Change.ONE_MORE_VACANCY
        else f"supporting {change.need}"
    )
    return (
        f"{what}{at} would have made it eligible for {change.referrals} "
        f"referral{_s(change.referrals)}"
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _stats_lines(s: StatsOut, market: bool = False) -> list[str]:
    near = sum(s.near_misses.values())
    lost = sum(s.lost.values())
    scope = (
        f"- Listings in scope of referrals (on the referral's DPV, within its radius), counted "
        f"once per referral: {s.referrals_in_scope}; eligible {s.eligible}; excluded "
        f"{s.excluded} ({near} near misses: excluded by one reason only)"
        if market
        else f"- Referrals in scope (its DPV, within the referral's radius): "
        f"{s.referrals_in_scope}; eligible for {s.eligible}; excluded from {s.excluded} "
        f"({near} near misses: excluded by one reason only)"
    )
    return [
        scope,
        f"- Bids: {s.bids}; won {s.won}; lost {lost} (price {s.lost.get('price', 0)}, match "
        f"{s.lost.get('match', 0)}, tie rule {s.lost.get('tie_rule', 0)}); rejected "
        f"{s.rejected}",
        f"- Median price gap to the winner: {_pct(s.median_price_gap_percent_lost_on_price)} "
        f"when lost on price, {_pct(s.median_price_gap_percent_lost)} over every loss",
    ]


def _table(head: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def _reason_rows(s: StatsOut) -> list[list[object]]:
    return [
        [reason, n, s.near_misses.get(reason, 0)]
        for reason, n in sorted(s.excluded_by_reason.items(), key=lambda kv: -kv[1])
    ]


def _provider_summary(answer: MarketFeedbackResponse, p: ProviderFeedbackOut, path: Path) -> Path:
    s = p.stats
    best = (change_words(p.best_change, p.best_change.listing_id) if p.best_change
            else "none found in this batch")  # fmt: skip
    lines = [
        f"# Feedback for {p.provider_name} ({p.provider_id})",
        "",
        f"Snapshot `{answer.snapshot_version}`, decision `{answer.decision_id}`; "
        f"{answer.referrals} referrals and {answer.bids} bids in the batch. Figures are this "
        "provider's own; other providers appear only as the winning bid's price gap.",
        "",
        *_stats_lines(s),
        f"- The single change that would have changed the most referrals: {best}",
        "",
        "![Outcomes by listing](chart.svg)",
        "",
        "## Listings",
        "",
        *_table(
            [
                "listing",
                "in scope",
                "eligible",
                "near misses",
                "bids",
                "won",
                "lost",
                "rejected",
                "median gap (price)",
                "best change",
            ],
            [
                [
                    f"{x.name} ({x.listing_id})",
                    x.stats.referrals_in_scope,
                    x.stats.eligible,
                    sum(x.stats.near_misses.values()),
                    x.stats.bids,
                    x.stats.won,
                    sum(x.stats.lost.values()),
                    x.stats.rejected,
                    _pct(x.stats.median_price_gap_percent_lost_on_price),
                    change_words(x.best_change) if x.best_change else "",
                ]
                for x in p.listings
            ],
        ),
        "",
        "## Why its listings were excluded",
        "",
        *_table(["reason", "referrals", "of which the only reason"], _reason_rows(s)),
        "",
        "## Why its bids were rejected",
        "",
        *_table(["reason", "bids"], [[k, v] for k, v in s.rejected_by_reason.items()]),
        "",
        "## Where its best-match losses were lost most",
        "",
        *_table(["component", "losses"], [[k, v] for k, v in s.lost_most_on.items()]),
        "",
        "Table: `listings.csv`.",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


LISTING_COLUMNS = [
    "listing_id",
    "name",
    "dpv",
    "referrals_in_scope",
    "eligible",
    "excluded",
    "near_misses",
    "bids",
    "ranked",
    "won",
    "lost_price",
    "lost_match",
    "lost_tie_rule",
    "rejected",
    "median_price_gap_percent_lost_on_price",
    "median_price_gap_percent_lost",
    "best_change",
    "best_change_need",
    "best_change_effect",
    "best_change_referrals",
]


STATS_COLUMNS = LISTING_COLUMNS[3:16]  # what `_stats_cells` gives, in its order


def _stats_cells(s: StatsOut) -> list[object]:
    """A listing's or a provider's counts as CSV cells (`STATS_COLUMNS`)."""
    return [
        s.referrals_in_scope,
        s.eligible,
        s.excluded,
        sum(s.near_misses.values()),
        s.bids,
        s.ranked,
        s.won,
        s.lost.get("price", 0),
        s.lost.get("match", 0),
        s.lost.get("tie_rule", 0),
        s.rejected,
        s.median_price_gap_percent_lost_on_price,
        s.median_price_gap_percent_lost,
    ]


def _listings_csv(p: ProviderFeedbackOut, path: Path) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(LISTING_COLUMNS)
        for x in p.listings:
            s, b = x.stats, x.best_change
            w.writerow(
                [
                    x.listing_id,
                    x.name,
                    x.dpv,
                    *_stats_cells(s),
                    b.change if b else "",
                    (b.need or "") if b else "",
                    b.effect if b else "",
                    b.referrals if b else 0,
                ]
            )
    return path


Rows = list[tuple[str, list[tuple[str, int]]]]  # (label, [(series, count)])


def _panel(title: str, rows: Rows, x0: float, width: float) -> list[str]:
    """Horizontal stacked bars at x0, each with its total, and the panel's legend below."""
    top = max((sum(n for _, n in parts) for _, parts in rows), default=0) or 1
    out = [f'<text x="{x0:.0f}" y="16" font-weight="bold">{escape(title)}</text>']
    for i, (_, parts) in enumerate(rows):
        y, x = 28 + 18 * i, x0
        for series, n in parts:
            w = width * n / top
            if n:
                colour, legend = SERIES[series]
                tip = f"<title>{escape(legend)}: {n}</title>"
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="13" '
                           f'fill="{colour}">{tip}</rect>')  # fmt: skip
            x += w
        total = sum(n for _, n in parts)
        out.append(f'<text x="{x + 4:.1f}" y="{y + 11}">{total}</text>')
    x, y = x0, 28 + 18 * len(rows) + 14
    for series in dict.fromkeys(s for _, parts in rows for s, _ in parts):
        colour, legend = SERIES[series]
        step = 16 + CHAR_PX * len(legend) + 12
        if x > x0 and x + step > x0 + width + 40:  # wrap within the panel
            x, y = x0, y + 16
        out.append(f'<rect x="{x:.0f}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 16:.0f}" y="{y}">{escape(legend)}</text>')  # fmt: skip
        x += step
    return out


def _svg(labels: list[str], panels: list[tuple[str, Rows]], panel_px: float) -> str:
    """Row labels on the left, then the panels side by side."""
    label_px = min(260.0, 8 + CHAR_PX * max((len(x) for x in labels), default=0))
    body = [f'<text x="4" y="{39 + 18 * i}">{escape(label)}</text>'
            for i, label in enumerate(labels)]  # fmt: skip
    for j, (title, rows) in enumerate(panels):
        body += _panel(title, rows, label_px + j * (panel_px + 70), panel_px)
    width = label_px + len(panels) * (panel_px + 70)
    height = 28 + 18 * len(labels) + 66
    inner = "\n".join(body)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
            f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" '
            f'fill="white"/>\n{inner}\n</svg>\n')  # fmt: skip


def _chart(p: ProviderFeedbackOut, path: Path) -> Path:
    """Per listing: its bids by outcome, and the referrals in scope by eligibility."""
    listings = sorted(p.listings, key=lambda x: (-x.stats.bids, -x.stats.referrals_in_scope,
                                                 x.listing_id))[:MAX_CHART_ROWS]  # fmt: skip
    bids: Rows = []
    scope: Rows = []
    for x in listings:
        s, lost = x.stats, x.stats.lost
        bids.append((x.listing_id, [("won", s.won), ("price", lost.get("price", 0)),
                                    ("match", lost.get("match", 0)),
                                    ("tie_rule", lost.get("tie_rule", 0)),
                                    ("rejected", s.rejected)]))  # fmt: skip
        near = sum(s.near_misses.values())
        scope.append((x.listing_id, [("eligible", s.eligible), ("near miss", near),
                                     ("excluded", s.excluded - near)]))  # fmt: skip
    labels = [f"{x.listing_id} {x.name}" for x in listings]
    path.write_text(_svg(labels, [("Bids by outcome", bids),
                                  ("Referrals in scope", scope)], 300))  # fmt: skip
    return path


def _market_files(
    answer: MarketFeedbackResponse, m: MarketOut, folder: Path, elapsed_s: float
) -> list[Path]:
    summary = folder / "summary.md"
    best = m.best_single_changes
    lines = [
        "# Market feedback",
        "",
        f"Snapshot `{answer.snapshot_version}`, decision `{answer.decision_id}`; "
        f"{answer.referrals} referrals, {answer.bids} bids, {len(answer.providers)} providers "
        f"with a listing in scope or a bid. Computed in {elapsed_s:.2f} s.",
        "",
        *_stats_lines(m.stats, market=True),
        f"- Referrals with no valid bid: {m.referrals_without_valid_bid}; with no eligible "
        f"listing within their radius: {m.referrals_without_eligible_listing}",
        "",
        "![Referrals each kind of change would have changed](market.svg)",
        "",
        "## Which change would have changed the most referrals",
        "",
        *_table(
            [
                "change",
                "need",
                "effect",
                "listings that could make it",
                "referrals",
                "of which with no valid bid",
            ],
            [
                [
                    c.change,
                    c.need or "",
                    c.effect,
                    c.listings,
                    c.referrals,
                    c.referrals_without_valid_bid,
                ]
                for c in m.changes
            ],
        ),
        "",
        "## The single changes at one listing that would have changed the most referrals",
        "",
        *_table(
            ["provider", "listing", "change", "need", "effect", "referrals"],
            [
                [b.provider_id, b.listing_id, b.change, b.need or "", b.effect, b.referrals]
                for b in best
            ],
        ),
        "",
        "## Why listings were excluded (referrals x listings)",
        "",
        *_table(["reason", "exclusions", "of which the only reason"], _reason_rows(m.stats)),
        "",
        "Tables: `market_changes.csv`, `best_single_changes.csv`, `providers.csv`; one folder "
        "per provider under `providers/`.",
    ]
    summary.write_text("\n".join(lines) + "\n")
    changes = folder / "market_changes.csv"
    with changes.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["change", "need", "effect", "listings", "referrals", "referrals_without_valid_bid"]
        )
        for c in m.changes:
            w.writerow(
                [
                    c.change,
                    c.need or "",
                    c.effect,
                    c.listings,
                    c.referrals,
                    c.referrals_without_valid_bid,
                ]
            )
    singles = folder / "best_single_changes.csv"
    with singles.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["provider_id", "listing_id", "change", "need", "effect", "referrals"])
        for b in best:
            w.writerow([b.provider_id, b.listing_id, b.change, b.need or "", b.effect, b.referrals])
    providers = folder / "providers.csv"
    with providers.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["provider_id", "provider_name", "listings", *STATS_COLUMNS])
        for p in answer.providers:
            w.writerow([p.provider_id, p.provider_name, len(p.listings), *_stats_cells(p.stats)])
    chart = folder / "market.svg"
    rows: Rows = [(f"{c.change}: {c.need}" if c.need else c.change,
                   [("won" if c.effect == "won" else "opened", c.referrals)])
                  for c in m.changes]  # fmt: skip
    title = "Referrals each change would have won (green) or opened (yellow)"
    chart.write_text(_svg([label for label, _ in rows], [(title, rows)], 420))
    return [summary, changes, singles, providers, chart]
