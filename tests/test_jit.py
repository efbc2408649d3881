"""The compiled kernels: cached where a folder is writable, compiled in memory otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

QUERY = (
    "import numpy as np\n"
    "from matcher.registry import jit\n"
    "from matcher.registry.packed_rtree import PackedRtree\n"
    "x = np.arange(100, dtype=np.float64)\n"
    "t = PackedRtree(x, x)\n"
    "print(jit._CACHE, t.count_disc(50.0, 50.0, 10.0, 12.0)[0], len(t.query_box(0, 0, 9, 9)))\n"
)


def run(env: dict[str, str]) -> str:
    """Run the query in a fresh interpreter with `env`; its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", QUERY], env={**os.environ, **env}, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_kernels_cache_in_the_folder_named(tmp_path: Path) -> None:
    """NUMBA_CACHE_DIR is used, and numba writes its compiled kernels there."""
    cache = tmp_path / "cache"
    out = run({"NUMBA_CACHE_DIR": str(cache)})
    assert out == f"{cache} 15 10"
    assert any(cache.rglob("*.nbi")), "no cache index written"


def test_kernels_still_run_where_nothing_is_writable(tmp_path: Path) -> None:
    """A read-only install with no writable temporary folder compiles in memory."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        env = {"NUMBA_CACHE_DIR": str(locked / "numba"), "TMPDIR": str(locked)}
        if os.geteuid() == 0:  # root writes anywhere: name a path that cannot be a folder
            env = {"NUMBA_CACHE_DIR": "/dev/null/numba", "TMPDIR": "/dev/null"}
        assert run(env) == "None 15 10"
    finally:
        locked.chmod(0o700)


def test_loading_the_kernels_imports_no_scipy(tmp_path: Path) -> None:
    """numba's BLAS probe (an import of scipy.linalg, 0.2-0.4 s of a worker's start) is
    answered "no" while numba's numpy library loads: compiled kernels run without it."""
    script = QUERY + "import sys\nprint('scipy.linalg' in sys.modules)\n"  # numba imports scipy
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [f"{tmp_path} 15 10", "False"]


def test_numba_linear_algebra_still_finds_blas(tmp_path: Path) -> None:
    """Only the probe's answer at that import changes (how np.convolve compiles): a kernel
    calling np.dot still gets scipy's BLAS, and the probe itself is numba's own again."""
    script = (
        "import numpy as np\n"
        "from matcher.registry import jit\n"
        "import numba, numba.np.arraymath as am, numba.np.linalg as la\n"
        "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
        "a = np.arange(1.0, 4.0)\n"
        "print(dot(a, a), am._HAVE_BLAS, am.ensure_blas is la.ensure_blas)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "14.0 False True"
