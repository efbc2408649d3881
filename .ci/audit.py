"""Audit requirements.lock with pip-audit, and say plainly what was and was not audited.

    python .ci/audit.py requirements.lock

pip-audit prints "No known vulnerabilities found" even when it could look up none of the
packages (every one "skipped": the vulnerability service was unreachable, as on machines
that reach only a package mirror). That line reads as a clean bill of health; this wrapper
reads pip-audit's JSON instead and prints one of:

- "audit: N of N locked packages audited, no known vulnerabilities";
- "audit: NOT AUDITED ..." naming how many packages could not be looked up and why;
- the vulnerabilities found (exit 1).

An audit that could not run passes (exit 0) unless CI_AUDIT_REQUIRED=1, so a release
pipeline that can reach the service can insist on a real audit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any


def verdict(report: dict[str, Any] | None, stderr: str, required: bool) -> tuple[int, list[str]]:
    """Exit code and lines to print for a pip-audit JSON report (None: pip-audit failed)."""
    if report is None:
        last = next((ln for ln in reversed(stderr.splitlines()) if ln.strip()), "no output")
        return (1 if required else 0), [f"audit: NOT AUDITED: pip-audit did not run ({last})"]
    deps: list[dict[str, Any]] = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    audited = [d for d in deps if not d.get("skip_reason")]
    vulnerable = [d for d in audited if d.get("vulns")]
    lines: list[str] = []
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            lines.append(f"audit: {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    if skipped:
        reason = skipped[0]["skip_reason"]
        lines.append(
            f"audit: NOT AUDITED: {len(skipped)} of {len(deps)} locked packages could not be "
            f"looked up in the vulnerability service, so nothing is known about them "
            f"(first reason: {reason})"
        )
        if audited:
            lines.append(f"audit: {len(audited)} of {len(deps)} audited")
    elif not vulnerable:
        lines.append(f"audit: {len(deps)} of {len(deps)} locked packages audited, "
                     "no known vulnerabilities")  # fmt: skip
    if vulnerable:
        return 1, lines
    return (1 if required and skipped else 0), lines


def main(argv: list[str]) -> int:
    """Run pip-audit on the lock file given; print the verdict; return its exit code."""
    lock = Path(argv[0] if argv else "requirements.lock")
    pip_audit = Path(sys.executable).with_name("pip-audit")
    required = os.environ.get("CI_AUDIT_REQUIRED") == "1"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        cmd = [str(pip_audit), "-r", str(lock), "--require-hashes", "--disable-pip"]
        cmd += ["--progress-spinner", "off", "-f", "json", "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
        report = json.loads(out.read_text()) if out.is_file() and out.stat().st_size else None
    code, lines = verdict(report, proc.stderr, required)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
