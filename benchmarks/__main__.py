"""`python -m benchmarks {core,postgis,http,asgi,load,report,batch,feedback} [options]`: a suite.

The benchmarks are a separate tree, never part of the test run (STYLE "Benchmarks"); each
suite prints a table and writes JSON under benchmarks/results/, and `report` turns those
into a Markdown summary with plots.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

SUITES = {
    "core": "benchmarks.core",
    "postgis": "benchmarks.postgis.__main__",
    "http": "benchmarks.http.__main__",
    "asgi": "benchmarks.asgi",
    "report": "benchmarks.report",
    "load": "benchmarks.load",
}
if importlib.util.find_spec("benchmarks.batch") is not None:  # maintained beside these
    SUITES["batch"] = "benchmarks.batch"
SUITES["feedback"] = "benchmarks.market_feedback"


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the named suite's `main(argv)`."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in SUITES:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    module = importlib.import_module(SUITES[args[0]])
    code: int = module.main(args[1:])
    return code


if __name__ == "__main__":
    raise SystemExit(main())
