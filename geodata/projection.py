"""WGS84 <-> British National Grid, and distances: the one place that knows about datums.

Why pin a transformation: asked for EPSG:4326 -> EPSG:27700, PROJ prefers the OSTN15 grid.
Offline that grid is missing, and depending on the PROJ version and the point, PROJ may fall
back to a "ballpark" operation with no datum shift at all, ~100-140 m off (it happens east of
~1.9E, at the edge of some operations' area of use). We instead pin EPSG:1314 "OSGB36 to WGS 84
(6)", the 7-parameter Helmert transformation shipped inside PROJ's database (no grid, no
network), accurate to ~2 m across Great Britain, and identical on every machine, so the build
is reproducible whether or not a grid happens to be installed.

Transformer and Geod are built once, lazily, on first use (one-off ``transform()`` calls cost
orders of magnitude more than reusing a built transformer), never at import time.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pyproj

__all__ = [
    "METRES_PER_MILE",
    "PINNED_TRANSFORMATION",
    "distance_m",
    "to_bng",
    "to_wgs84",
    "transformation_description",
]

METRES_PER_MILE: float = 1609.344
"""International mile, exactly."""

PINNED_TRANSFORMATION = "Inverse of OSGB36 to WGS 84 (6)"
"""The EPSG:1314 Helmert operation (inverse direction: WGS84 -> OSGB36), see module docstring."""

FloatArray = npt.NDArray[np.float64]


@functools.cache
def _operation() -> pyproj.Transformer:
    """Choose the WGS84 (lon, lat) -> BNG operation from PROJ's candidates (see module doc)."""
    from pyproj.transformer import TransformerGroup

    with warnings.catch_warnings():
        # TransformerGroup warns that the (OSTN15 grid) best operation is unavailable:
        # that is expected and is the reason we choose explicitly below.
        warnings.simplefilter("ignore", UserWarning)
        group = TransformerGroup(4326, 27700, always_xy=True)
    offline = [t for t in group.transformers if not t.is_network_enabled]
    for candidate in offline:
        if PINNED_TRANSFORMATION in candidate.description:
            return candidate
    # A PROJ database without EPSG:1314 would be a surprise: fall back to the most accurate
    # offline Helmert-style operation, never to a "Ballpark" one (no datum shift at all).
    usable = [t for t in offline if "ballpark" not in t.description.lower() and t.accuracy > 0]
    if not usable:
        raise RuntimeError(
            "no usable WGS84 -> British National Grid transformation: PROJ offers only "
            f"{[t.description for t in group.transformers]!r}"
        )
    best = min(usable, key=lambda t: (t.accuracy, t.description))
    warnings.warn(
        f"{PINNED_TRANSFORMATION!r} not found in this PROJ database; using "
        f"{best.description!r} (accuracy {best.accuracy} m) instead",
        RuntimeWarning,
        stacklevel=2,
    )
    return best


@functools.cache
def _transformer() -> pyproj.Transformer:
    """The chosen operation rebuilt from its PROJ pipeline.

    TransformerGroup hands out transformers that are not thread-safe; one built with
    ``from_pipeline`` is, and the service calls this from a thread pool.
    """
    import pyproj

    return pyproj.Transformer.from_pipeline(_operation().to_proj4())


@functools.cache
def _geod() -> pyproj.Geod:
    """Return the WGS84 ellipsoid used for geodesic distances."""
    import pyproj

    return pyproj.Geod(ellps="WGS84")


def transformation_description() -> str:
    """Describe the WGS84 -> BNG operation in use (for logs and the health endpoint)."""
    return str(_operation().description)


def _pair(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    return x, y


def to_bng(lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 latitude/longitude to British National Grid.

    Parameters
    ----------
    lat, lon : float or array_like, degrees (broadcast together)

    Returns
    -------
    (easting_m, northing_m) : arrays of the broadcast shape, metres (EPSG:27700)
    """
    la, lo = _pair(lat, lon)
    e, n = _transformer().transform(lo.ravel(), la.ravel())
    return (
        np.asarray(e, dtype=np.float64).reshape(la.shape),
        np.asarray(n, dtype=np.float64).reshape(la.shape),
    )


def to_wgs84(easting: npt.ArrayLike, northing: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert British National Grid to WGS84 latitude/longitude.

    Parameters
    ----------
    easting, northing : float or array_like, metres (broadcast together)

    Returns
    -------
    (lat, lon) : arrays of the broadcast shape, degrees
    """
    from pyproj.enums import TransformDirection

    e, n = _pair(easting, northing)
    lon, lat = _transformer().transform(e.ravel(), n.ravel(), direction=TransformDirection.INVERSE)
    return (
        np.asarray(lat, dtype=np.float64).reshape(e.shape),
        np.asarray(lon, dtype=np.float64).reshape(e.shape),
    )


def distance_m(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Geodesic distance on the WGS84 ellipsoid, vectorised with numpy broadcasting.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : float or array_like, degrees (broadcast together)

    Returns
    -------
    distance : array of the broadcast shape, metres (divide by ``METRES_PER_MILE`` for miles)
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (lat1, lon1, lat2, lon2)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    # Flat contiguous copies of the broadcast shape; a small batch (a few listings near a
    # radius) pays microseconds here, not the ~100 us of np.broadcast_arrays + ravel.
    a1, o1, a2, o2 = (
        a.ravel() if a.shape == shape else np.full(shape, a).ravel() if a.ndim == 0
        else np.broadcast_to(a, shape).ravel()
        for a in arrays
    )  # fmt: skip
    _, _, dist = _geod().inv(o1, a1, o2, a2)
    return np.asarray(dist, dtype=np.float64).reshape(shape)


def distances_from(lat: float, lon: float, lats: FloatArray, lons: FloatArray) -> FloatArray:
    """Geodesic distances (m) on the WGS84 ellipsoid from one point to each of many.

    The same numbers as `distance_m(lat, lon, lats, lons)` (tested), for the one shape the
    matcher asks for on every request: the point's coordinates repeated with `np.full`,
    the others copied once, and pyproj writing into those copies (`inplace`) instead of
    allocating its own. `distance_m`'s broadcasting cost ~15-20 us a call: measured for 5
    / 30 / 200 points, 39 / 62 / 263 us there against 19 / 48 / 254 us here.
    """
    n = len(lats)
    _, _, dist = _geod().inv(
        np.full(n, lon, dtype=np.float64),
        np.full(n, lat, dtype=np.float64),
        np.array(lons, dtype=np.float64),
        np.array(lats, dtype=np.float64),
        inplace=True,
        return_back_azimuth=False,
    )
    return np.asarray(dist, dtype=np.float64)
