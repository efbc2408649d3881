"""Closed-loop load with wrk (Debian's): a Lua script cycling varied referral bodies.

The script POSTs the bodies round robin (each thread starting at its own offset), stops
its thread after its share of `max_requests`, sums the `Server-Timing: match;dur=` values,
and prints one JSON line from `done()`: totals, errors by kind and latency percentiles.
wrk itself bounds the duration (`-d`) and each request (`--timeout`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

LUA = r"""
local bodies = {
%(bodies)s
}
local max_per_thread = %(max_per_thread)d
local threads = {}
local thread_no = 0

function setup(thread)
  thread:set("offset", thread_no)
  thread_no = thread_no + 1
  table.insert(threads, thread)
end

function init(args)
  i = tonumber(wrk.thread:get("offset") or 0) * 7
  sent, seen, match_sum, match_n, non200 = 0, 0, 0, 0, 0
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  i = i %% #bodies + 1
  sent = sent + 1
  return wrk.format("POST", "%(path)s", nil, bodies[i])
end

function response(status, headers, body)
  seen = seen + 1
  if status ~= 200 then non200 = non200 + 1 end
  local timing = headers["Server-Timing"] or headers["server-timing"]
  if timing then
    local ms = tonumber(string.match(timing, "dur=([%%d%%.]+)"))
    if ms then match_sum = match_sum + ms; match_n = match_n + 1 end
  end
  if seen >= max_per_thread then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local ms, mn, bad = 0, 0, 0
  for _, t in ipairs(threads) do
    ms = ms + (t:get("match_sum") or 0)
    mn = mn + (t:get("match_n") or 0)
    bad = bad + (t:get("non200") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '\nWRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,' ..
    '"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d,"non200":%%d,' ..
    '"p50":%%d,"p90":%%d,"p95":%%d,"p99":%%d,"max":%%d,"mean":%%.1f,' ..
    '"match_ms_sum":%%.3f,"match_n":%%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, ms, mn))
end
"""


def available() -> bool:
    """Whether the wrk binary is on PATH."""
    return shutil.which("wrk") is not None


def lua_script(bodies: list[bytes], path: str, max_per_thread: int) -> str:
    """The Lua script for these bodies (as Lua long strings, never escaped)."""
    items = ",\n".join(f"  [==[{b.decode()}]==]" for b in bodies)
    return LUA % {"bodies": items, "path": path, "max_per_thread": max_per_thread}


def run(
    url: str,
    bodies: list[bytes],
    connections: int,
    duration_s: float,
    max_requests: int,
    threads: int = 1,
    timeout_s: float = 5.0,
) -> dict[str, Any]:
    """One closed-loop step; the summary in the same shape as `loadgen.Tally.result`."""
    threads = max(1, min(threads, connections))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "shortlist.lua"
        host_path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        script.write_text(lua_script(bodies, host_path, max(1, max_requests // threads)))
        base = url.split("/v1/", 1)[0]
        cmd = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration_s:g}s",
            "--timeout",
            f"{timeout_s:g}s",
            "-s",
            str(script),
            base,
        ]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr[-2000:]}")
    w = json.loads(line[len("WRKJSON ") :])
    elapsed = w["duration_us"] / 1e6
    errors = w["connect"] + w["read"] + w["write"] + w["timeout"] + w["non200"]
    return {
        "mode": "closed",
        "generator": "wrk",
        "connections": connections,
        "threads": threads,
        "requests": w["requests"],
        "ok": w["requests"] - w["non200"],
        "errors": errors,
        "error_kinds": {k: w[k] for k in ("connect", "read", "write", "timeout", "non200")},
        "elapsed_s": round(elapsed, 3),
        "rps": round(w["requests"] / elapsed, 1) if elapsed else 0.0,
        "latency": {
            "count": w["requests"],
            "mean_us": w["mean"],
            "p50_us": w["p50"],
            "p90_us": w["p90"],
            "p95_us": w["p95"],
            "p99_us": w["p99"],
            "max_us": w["max"],
        },
        "server_match_ms_mean": round(w["match_ms_sum"] / w["match_n"], 3)
        if w["match_n"]
        else None,
        "mean_response_bytes": round(w["bytes"] / max(1, w["requests"])),
    }
