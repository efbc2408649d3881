"""Compiled kernels: numba's `njit`, cached on disk where a writable place exists.

The spatial queries walk a packed R-tree node by node and point by point; in numpy that is
a few dozen whole-array calls per query whose fixed cost (about half a microsecond each
here) outweighs the arithmetic. numba, the standard JIT compiler for numpy code, compiles
those loops once per process (or loads them from its cache in milliseconds) and releases
the GIL while they run, so the request threads of one worker can query at the same time.

The cache goes to `NUMBA_CACHE_DIR` when set, else to a folder of the temporary directory
(a read-only install, as in the container image, still gets one); where nothing is
writable the kernels are compiled in memory at first use instead.

numba's first compile (or cache load) in a process loads its numpy library, which probes
for a BLAS by importing `scipy.linalg`: 0.2-0.4 s of a worker's start here, most of it
scipy's array-API layer walking numpy's namespace. The probe only chooses how numba
compiles `np.convolve` and `np.correlate` (a BLAS dot or a plain loop); no kernel here
calls either, and nothing else imports scipy.linalg while a worker starts (a comparison or
a batch request imports the parts of scipy it needs when first asked). So that library is
loaded once at import, with the probe answered "no BLAS" (`_without_blas_probe`); numba's
linear algebra still finds scipy when a kernel uses it (the probe is put back).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


def _cache_dir() -> str | None:
    """A writable folder for numba's cache, or None."""
    wanted = os.environ.get("NUMBA_CACHE_DIR") or str(
        Path(tempfile.gettempdir()) / f"matcher-numba-{os.getuid()}"
    )
    try:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        probe = Path(wanted) / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        return None
    return wanted


_CACHE = _cache_dir()
if _CACHE is not None:
    os.environ["NUMBA_CACHE_DIR"] = _CACHE  # read by numba when it is imported

import numba  # noqa: E402 - the cache folder must be set before numba is imported


def _without_blas_probe() -> None:
    """Load numba's numpy library with its BLAS probe answered "no" (see the module
    docstring); a no-op when it is already loaded."""
    if "numba.np.arraymath" in sys.modules:
        return
    import numba.np.linalg as linalg

    probe = linalg.ensure_blas

    def no_blas() -> None:
        raise ImportError("matcher's kernels call no BLAS")

    linalg.ensure_blas = no_blas
    try:
        import numba.np.arraymath as arraymath
    finally:
        linalg.ensure_blas = probe
    arraymath.ensure_blas = probe  # type: ignore[attr-defined]  # bound at its import


_without_blas_probe()


def kernel(fn: F) -> F:
    """Compile `fn` in nopython mode, without the GIL, cached when possible."""
    return cast(F, numba.njit(cache=_CACHE is not None, nogil=True)(fn))
