"""`python -m benchmarks report`: Markdown summary and PNG plots from the results JSON.

Reads whatever of `core.json`, `postgis.json`, `http.json` and `asgi.json` exists in the
results directory and writes `README.md` plus `latency_vs_size.png` and `http_latency.png`
there.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.stats import fmt_us, machine

RESULTS = Path("benchmarks/results")


def _load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    """A GitHub Markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def plot_sizes(core: dict[str, Any], postgis: dict[str, Any] | None, path: Path) -> None:
    """p50 (markers) and p99 (dashed) per query vs registry size, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=100)
    sizes = [s["listings"] for s in core["sizes"]]
    series = [
        ("shortlist_index", "shortlist, packed R-trees (default)", "tab:blue"),
        ("shortlist_strtree", "shortlist, STRtree backend", "tab:cyan"),
        ("shortlist_bruteforce", "brute-force numpy scan", "tab:red"),
        ("matcher_shortlist", "Matcher.shortlist, model in -> bytes out", "tab:purple"),
        ("rank_best_match_50", "rank 50 bids (best match)", "tab:green"),
    ]
    for key, label, color in series:
        p50 = [s["ops"][key]["p50_us"] / 1000 for s in core["sizes"]]
        p99 = [s["ops"][key]["p99_us"] / 1000 for s in core["sizes"]]
        ax.plot(sizes, p50, "o-", color=color, label=f"{label} p50")
        ax.plot(sizes, p99, "--", color=color, alpha=0.5, lw=1)
    if postgis:
        pg = sorted(postgis["sizes"], key=lambda s: s["listings"])
        xs = [s["listings"] for s in pg]
        p50 = [s["ops"][s["best_postgis"]]["p50_us"] / 1000 for s in pg]
        p99 = [s["ops"][s["best_postgis"]]["p99_us"] / 1000 for s in pg]
        ax.plot(xs, p50, "s-", color="tab:orange", label="PostGIS (best plan) p50")
        ax.plot(xs, p99, "--", color="tab:orange", alpha=0.5, lw=1)
    ax.axhline(0.3, color="grey", lw=0.8, ls=":")
    ax.text(sizes[0], 0.32, "target: Matcher.shortlist p50 300 us at 100k", fontsize=7,
            color="grey")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("registry size (listings)")
    ax.set_ylabel("latency per referral (ms); dashed = p99")
    ax.set_title("Shortlist latency vs registry size (40 referrals, 1 core)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_http(http: dict[str, Any], path: Path) -> None:
    """Closed-loop latency vs connections, open-loop latency vs offered rate, and req/s at
    the most connections: matcher beside the bare endpoint, per path and worker count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.8), dpi=100)
    palette = ["tab:blue", "tab:purple", "tab:green", "tab:olive", "tab:grey", "black",
               "tab:brown", "tab:pink"]  # fmt: skip
    keys = sorted({(r["target"], r["path"], r["workers"]) for r in http["runs"]})
    colors = dict(zip(keys, palette * 2, strict=False))
    for run in http["runs"]:
        key = (run["target"], run["path"], run["workers"])
        label = f"{run['target']} {run['path'].rsplit('/', 1)[1]} {run['workers']}w"
        closed = sorted(run["closed"], key=lambda s: s["connections"])
        opened = sorted(run["open"], key=lambda s: s["target_rps"])
        for pct, style in (("p50_us", "o-"), ("p99_us", "^--")):
            left.plot([s["connections"] for s in closed],
                      [s["latency"][pct] / 1000 for s in closed], style, color=colors[key],
                      label=f"{label} {pct[:3]}")  # fmt: skip
            middle.plot([s["target_rps"] for s in opened],
                        [s["latency"][pct] / 1000 for s in opened], style, color=colors[key],
                        label=f"{label} {pct[:3]}")  # fmt: skip
    for ax, xlabel, title in (
        (left, "concurrent connections (closed loop)", "Closed loop"),
        (middle, "offered rate, req/s (open loop, up to 64 connections)", "Open loop"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("latency (ms)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    middle.axhline(30, color="red", lw=0.8, ls=":")
    middle.text(middle.get_xlim()[0], 32, "p99 target 30 ms", fontsize=7, color="red")
    left.legend(fontsize=5, ncol=2)
    verdicts = list(http.get("verdict", {}).values())
    names = [f"{v['path'].rsplit('/', 1)[1]}\n{v['workers']} worker(s)" for v in verdicts]
    xs = range(len(verdicts))
    right.bar([x - 0.2 for x in xs], [v["bare_rps"] for v in verdicts], 0.4,
              color="tab:grey", label="bare FastAPI")  # fmt: skip
    right.bar([x + 0.2 for x in xs], [v["matcher_rps"] for v in verdicts], 0.4,
              color="tab:blue", label="matcher")  # fmt: skip
    for x, v in zip(xs, verdicts, strict=True):
        right.text(x + 0.2, v["matcher_rps"], f"{v['ratio']:.0%}", ha="center",
                   va="bottom", fontsize=8)  # fmt: skip
    right.set_xticks(list(xs), names, fontsize=8)
    right.set_ylabel("req/s at the most connections (closed loop)")
    right.set_title("Throughput: matcher vs bare (target >= 60%)", fontsize=10)
    right.legend(fontsize=7)
    fig.suptitle(
        f"HTTP, {http['workload']['listings']:,} listings, 2 cores shared by server and "
        "load generator",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def core_section(core: dict[str, Any]) -> list[str]:
    """Markdown for the in-process suite."""
    out = ["## In-process suite (`python -m benchmarks core`)", ""]
    w = core["workload"]
    out.append(
        f"{w['referrals']} referrals ({w['note']}), up to {w['queries_per_op']} timed "
        "calls per operation after a warm-up pass; each size in a fresh process."
    )
    out.append("")
    rows = []
    for s in core["sizes"]:
        rows.append(
            [
                f"{s['listings']:,}",
                s["build_s"]["packed"],
                s["build_s"]["strtree"],
                s["build_s"]["rtree"],
                s["build_s"]["packed_tree_only"],
                s["snapshot_version_s"],
                s["rss_after_index_mb"],
                s["peak_rss_after_load_mb"],
                "yes" if all(s["parity"].values()) else "**NO**",
            ]
        )
    out.append(
        md_table(
            [
                "listings",
                "index build s (packed, default)",
                "(STRtree)",
                "(rtree)",
                "packed tree alone s",
                "snapshot version hash s",
                "RSS after index MB",
                "peak RSS after full load MB",
                "STRtree, rtree & brute force identical",
            ],
            rows,
        )
    )
    out.append("")
    keys = [
        "shortlist_index",
        "shortlist_strtree",
        "shortlist_rtree",
        "shortlist_bruteforce",
        "matcher_shortlist",
        "matcher_shortlist_model",
        "matcher_shortlist_json",
        "rank_price_50",
        "rank_best_match_50",
        "rank_price_50_no_feedback",
        "rank_best_match_50_no_feedback",
    ]
    rows = []
    for s in core["sizes"]:
        ops = s["ops"]
        brute = ops["shortlist_bruteforce"]["p50_us"]
        for k in keys:
            o = ops[k]
            rows.append(
                [
                    f"{s['listings']:,}",
                    k,
                    o["count"],
                    fmt_us(o["p50_us"]),
                    fmt_us(o["p95_us"]),
                    fmt_us(o["p99_us"]),
                    fmt_us(o["urban_p50_us"]),
                    fmt_us(o["rural_p50_us"]),
                    f"{brute / o['p50_us']:.1f}x",
                ]
            )
    out.append(
        md_table(
            [
                "listings",
                "operation",
                "n",
                "p50",
                "p95",
                "p99",
                "urban p50",
                "rural p50",
                "brute force p50 / this p50",
            ],
            rows,
        )
    )
    out.append("")
    alt = core.get("alternatives")
    if alt:
        out.append(
            f"Raw candidate query only, {alt['listings']:,} listings, mean "
            f"{alt['mean_candidates']} candidates per box; STRtree, rtree and scan rows "
            f"identical: {alt['identical_rows']}."
        )
        out.append("")
        rows = [
            [
                k,
                alt["build_s"].get(k.split("_", 1)[1], "-"),
                fmt_us(o["p50_us"]),
                fmt_us(o["p99_us"]),
            ]
            for k, o in alt["ops"].items()
        ]
        out.append(md_table(["query", "build s", "p50", "p99"], rows))
        out.append("")
    rows = [
        [k, v["target"], v["measured"], {True: "PASS", False: "**MISS**", None: "-"}[v["met"]]]
        for k, v in core["verdict"].items()
    ]
    out.append(md_table(["target (issue 15)", "target", "measured", ""], rows))
    out.append("")
    return out


def postgis_section(pg: dict[str, Any]) -> list[str]:
    """Markdown for the PostGIS comparison."""
    out = ["## PostGIS side by side (`benchmarks/postgis/run.sh`)", ""]
    server = pg["server"]
    out.append(
        f"Server: {server['version'].split(',')[0]}; {server['postgis'].split(' ')[1]}."
        " Settings: "
        + ", ".join(f"`{k}={v}`" for k, v in server["settings"].items() if k != "listen_addresses")
        + "."
    )
    out.append("")
    rows = []
    for s in pg["sizes"]:
        par = s["parity"]
        base = s["ops"]["matcher_shortlist_explain0"]
        best = s["ops"][s["best_postgis"]]
        rows.append(
            [
                f"{s['listings']:,}",
                "identical" if par["identical"] else "**differs**",
                par["eligible_total"],
                f"{par['max_distance_diff_m']:.1e}",
                fmt_us(base["p50_us"]),
                fmt_us(base["p99_us"]),
                s["best_postgis"],
                fmt_us(best["p50_us"]),
                fmt_us(best["p99_us"]),
                f"{s['ratio_postgis_over_matcher_p50']}x",
                round(sum(s["load_s"].values()), 1),
            ]
        )
    for v in pg.get("verdict", {}).values():
        out.append(f"- {v['text']}: {'PASS' if v['met'] else '**MISS**'}")
    out.append("")
    out.append(
        md_table(
            [
                "listings",
                "parity (40 referrals x 2 SQL forms)",
                "eligible rows",
                "max dist diff m",
                "matcher p50",
                "matcher p99",
                "best PostGIS form",
                "PostGIS p50",
                "PostGIS p99",
                "PostGIS/matcher p50",
                "load s",
            ],
            rows,
        )
    )
    out.append("")
    return out


def http_section(http: dict[str, Any]) -> list[str]:
    """Markdown for the HTTP load test."""
    w = http["workload"]
    out = ["## HTTP load (`python -m benchmarks http`)", ""]
    out.append(
        f"`POST` {', '.join(w['paths'])}, {w['listings']:,} listings, {w['referrals']} varied "
        f"bodies (mean {w['request_bytes_mean']} B); steps capped at "
        f"{w['duration_s_per_step']:g} s and {w['max_requests_per_step']:,} requests; "
        f"closed loop by {w['closed_loop_generator']}, open loop by the Python "
        "generator (timed from each request's due time). Server and load generator "
        "share the same 2 cores."
    )
    out.append("")
    rows = []
    for r in http["runs"]:
        for s in r["closed"] + r["open"]:
            lat = s["latency"]
            load = f"{s['connections']} conn" if s["mode"] == "closed" else f"{s['target_rps']}/s"
            rows.append(
                [
                    r["target"],
                    r["path"],
                    r["workers"],
                    s["mode"],
                    load,
                    s["requests"],
                    s["rps"],
                    fmt_us(lat.get("p50_us")),
                    fmt_us(lat.get("p95_us")),
                    fmt_us(lat.get("p99_us")),
                    fmt_us(lat.get("max_us")),
                    s["errors"],
                ]
            )
    out.append(
        md_table(
            [
                "target",
                "path",
                "workers",
                "mode",
                "load",
                "requests",
                "req/s",
                "p50",
                "p95",
                "p99",
                "max",
                "errors",
            ],
            rows,
        )
    )
    out.append("")

    def mark(met: bool) -> str:
        return "PASS" if met else "**MISS**"

    for v in http["verdict"].values():
        out.append(
            f"- `{v['path']}`, {v['workers']} worker(s): matcher {v['matcher_rps']} req/s = "
            f"**{v['ratio']:.0%}** of bare FastAPI {v['bare_rps']} req/s at "
            f"{v['connections']} connections (target >= {v['ratio_target']:.0%}: "
            f"{mark(v['ratio_met'])}); p99 {v['matcher_p99_ms']} ms at {v['paced_rps']} req/s "
            f"offered (open loop, up to 64 connections; target <= {v['p99_target_ms']:g} ms: "
            f"{mark(v['p99_met'])}); errors {v['errors']} ({mark(v['errors_met'])})."
        )
    out.append("")
    return out


def asgi_section(doc: dict[str, Any]) -> list[str]:
    """`python -m benchmarks asgi`: the app alone, variant by variant."""
    out = [
        "## Inside the server (`python -m benchmarks asgi`)",
        "",
        f"The app called as uvicorn calls it (no socket), {doc['registry']}, "
        f"{doc['referrals']} bodies per path x {doc['passes']} passes, the variants taking "
        "turns request by request (see `benchmarks/asgi.py`).",
        "",
    ]
    rows = [
        [path, name, fmt_us(v["p50_us"]), fmt_us(v["p95_us"])]
        for path, variants in doc["results"].items()
        for name, v in variants.items()
    ]
    out += [md_table(["path", "variant", "p50", "p95"], rows), ""]
    return out


def load_section(doc: dict[str, Any]) -> list[str]:
    """`python -m benchmarks load`: a `.json.gz` to a serving snapshot, per size."""
    from benchmarks.load import verdict

    out = [
        "## Snapshot load (`python -m benchmarks load`)",
        "",
        "Each worker a fresh process: the first with an empty snapshot cache (read, validate "
        "with its helper process, columns, version, index), the second after it (from the "
        "cache), and a first worker again with no helper process (one process, as before).",
        "",
    ]
    rows = []
    for size in doc["sizes"]:
        n, first, second = size["listings"], size["first"], size["second"]
        alone = size.get("first_alone", {})
        rows.append([
            f"{n:,}", first["load_s"], verdict("load_s", n, first["load_s"]),
            alone.get("load_s", "-"), first.get("helper_chunks", "-"),
            second["load_s"], verdict("second_worker_s", n, second["load_s"]),
            first["rss_after_load_mb"], verdict("rss_after_load_mb", n, first["rss_after_load_mb"]),
            first["peak_rss_mb"], verdict("peak_rss_mb", n, first["peak_rss_mb"]),
            first.get("helper_peak_rss_mb", "-"),
        ])  # fmt: skip
    headers = ["listings", "first worker s", "target", "no helper s", "helper chunks",
               "second worker s", "target", "RSS after MB", "target", "peak MB", "target",
               "helper peak MB"]  # fmt: skip
    out += [md_table(headers, rows), ""]
    return out


def steal_lines(docs: dict[str, dict[str, Any] | None]) -> list[str]:
    """A line giving each suite's CPU steal (`benchmarks.stats.steal_percent`), if any."""
    parts = [
        f"{name} {doc['machine']['cpu_steal_percent']}%"
        for name, doc in docs.items()
        if doc and doc.get("machine", {}).get("cpu_steal_percent") is not None
    ]
    if not parts:
        return []
    return [
        "CPU time the hypervisor gave to other guests while each suite ran (steal, as a share "
        "of both CPUs' time, idle included): " + ", ".join(parts) + ".",
        "",
    ]


def write_report(folder: Path = RESULTS) -> Path:
    """Write README.md and the PNGs from the JSON results in `folder`."""
    core = _load(folder, "core.json")
    pg = _load(folder, "postgis.json")
    http = _load(folder, "http.json")
    asgi = _load(folder, "asgi.json")
    load = _load(folder, "load.json")
    src = (core or pg or http or {"machine": machine()})["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {src['date']} on {src['nproc']} CPUs ({src['cpu_model']}), "
        f"{src['ram_gib']} GiB RAM, Python {src['python']}, numpy {src['numpy']}. These are "
        "shared 2-core machines (other work may run beside a benchmark): read ratios measured "
        "in the same run before absolute numbers.",
        "",
        "Reproduce: `python -m benchmarks core && python -m benchmarks load --sizes 100000 "
        "1000000 && benchmarks/postgis/run.sh --sizes 1000 10000 100000 1000000 && python -m "
        "benchmarks http && python -m benchmarks asgi && python -m benchmarks feedback && "
        "python -m benchmarks report`.",
        "",
    ]
    lines += steal_lines(
        {"core": core, "load": load, "PostGIS": pg, "http": http,
         "asgi": asgi, "feedback": _load(folder, "feedback.json")}
    )  # fmt: skip
    if core:
        plot_sizes(core, pg, folder / "latency_vs_size.png")
        lines += ["![latency vs size](latency_vs_size.png)", ""]
        lines += core_section(core)
    if pg:
        lines += postgis_section(pg)
    if load:
        lines += load_section(load)
    if http:
        plot_http(http, folder / "http_latency.png")
        lines += http_section(http)
        lines += ["![HTTP latency](http_latency.png)", ""]
    if asgi:
        lines += asgi_section(asgi)
    out = folder / "README.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(prog="benchmarks.report", description=__doc__)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    print(write_report(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
