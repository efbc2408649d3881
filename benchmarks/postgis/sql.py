"""The registry as PostGIS tables and the shortlist as one SQL query (no server needed here).

Columns mirror `matcher.registry.columns.Registry` (same integer codes and bitmasks, dates as
proleptic ordinals) plus `geog geography(Point,4326)` from the same WGS84 doubles and
`bng geometry(Point,27700)` from the matcher index's own BNG projection. Referral-independent
exclusions get the same treatment the matcher's `static_bits` column gets: computed at
load (`alert_severity` = highest open alert), compared in the query. Ceiling periods live in
the listing row as three parallel arrays (the matcher keeps them CSR-style beside the row):
a separate `ceiling` table joined through EXISTS made the planner pick, for custom plans,
a nested loop rescanning the whole ceiling table per candidate (30 s queries), because
PostGIS underestimates how many rows a geography box matches.

The WHERE clause states every check of `matcher.match.eligibility.CHECKS` plus the static ones,
and the radius as PostGIS defines it: `ST_DWithin(geog, origin, r, use_spheroid => true)`.
Order: `ST_Distance(geog, origin, true)`, then id (C collation = Python's str order).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from matcher.match.criteria import Criteria
from matcher.match.radius import reach_m
from matcher.registry.columns import RATINGS
from matcher.registry.index import RegistryIndex
from matcher.vocabulary.catalogue import (
    DPV_CODE,
    DPV_STATUS_CODE,
    LOT_CODE,
    REGISTRATION_CODE,
    SEVERITY_RANK,
    DpvStatus,
    OfstedRating,
    OfstedRegistration,
)

NYI = RATINGS.index(OfstedRating.NOT_YET_INSPECTED)

LISTING_COLUMNS = (
    "row_id",
    "id",
    "dpv",
    "lots_mask",
    "genders_mask",
    "age_min",
    "age_max",
    "needs_mask",
    "vacancies",
    "available_from",
    "max_sibling_group",
    "registration",
    "rating",
    "rating_rank",
    "restricted_until",
    "dpv_status",
    "alert_severity",
    "ceil_lot",
    "ceil_from",
    "ceil_to",
    "geog",
    "bng",
)

DDL = """
CREATE EXTENSION IF NOT EXISTS postgis;
DROP TABLE IF EXISTS listing;
CREATE TABLE listing (
    row_id integer PRIMARY KEY,          -- the matcher's row position
    id text NOT NULL,
    dpv smallint NOT NULL,
    lots_mask integer NOT NULL,
    genders_mask smallint NOT NULL,
    age_min smallint NOT NULL,
    age_max smallint NOT NULL,
    needs_mask integer NOT NULL,
    vacancies integer NOT NULL,
    available_from integer NOT NULL,     -- proleptic ordinal, 0 = available now
    max_sibling_group smallint NOT NULL,
    registration smallint NOT NULL,
    rating smallint NOT NULL,
    rating_rank smallint NOT NULL,       -- 1 inadequate .. 4 outstanding, 0 not yet inspected
    restricted_until integer NOT NULL,   -- proleptic ordinal, 0 = never restricted
    dpv_status smallint NOT NULL,
    alert_severity smallint NOT NULL,    -- 0 no open alert, else 1 + highest open severity
    ceil_lot smallint[] NOT NULL,        -- ceiling periods: lot code, valid from/to (ordinals)
    ceil_from integer[] NOT NULL,
    ceil_to integer[] NOT NULL,
    geog geography(Point, 4326) NOT NULL,
    bng geometry(Point, 27700) NOT NULL
);
"""

# Index, physical order and statistics (run after COPY; each step is timed separately).
POST_LOAD: tuple[tuple[str, str], ...] = (
    ("gist_geog", "CREATE INDEX listing_geog_gist ON listing USING gist (geog)"),
    ("gist_bng", "CREATE INDEX listing_bng_gist ON listing USING gist (bng)"),
    ("geohash_btree", "CREATE INDEX listing_geohash ON listing (ST_GeoHash(geog::geometry, 10))"),
    ("cluster", "CLUSTER listing USING listing_geohash"),
    ("vacuum_analyze", "VACUUM (ANALYZE) listing"),
)

_ELIGIBLE = """
      AND l.registration = %(registered)s::int
      AND l.dpv_status = %(active)s::int
      AND l.alert_severity < %(alert_threshold)s::int
      AND l.dpv = %(dpv)s::int
      AND (l.lots_mask & %(lot_bit)s::int) <> 0
      AND (l.needs_mask & %(needs)s::int) = %(needs)s::int
      AND (l.genders_mask & %(gender_bit)s::int) <> 0
      AND l.vacancies >= %(group)s::int
      AND l.age_min <= %(age)s::int AND l.age_max >= %(age)s::int
      AND l.available_from <= %(start)s::int
      AND EXISTS (SELECT 1 FROM unnest(l.ceil_lot, l.ceil_from, l.ceil_to) AS c(lot, f, t)
                  WHERE c.lot = %(lot)s::int AND c.f <= %(start)s::int AND c.t >= %(start)s::int)
      AND l.max_sibling_group >= %(group)s::int
      AND (l.rating = %(nyi)s::int OR l.rating_rank >= %(min_rank)s::int)
      AND (%(accept_nyi)s::boolean OR l.rating <> %(nyi)s::int)
      AND l.restricted_until < %(start)s::int
      AND NOT (l.id = ANY(%(excluded)s::text[]))"""

_ORIGIN = "ST_SetSRID(ST_MakePoint(%(lon)s::float8, %(lat)s::float8), 4326)::geography"
_ORIGIN_BNG = "ST_SetSRID(ST_MakePoint(%(e)s::float8, %(n)s::float8), 27700)"

# Planner variants: radius through the geography GiST index alone, or a planar BNG GiST
# prefilter (the matcher's own strategy: box in BNG, exact geodesic test after).
RADIUS = {
    "geography": f"ST_DWithin(l.geog, {_ORIGIN}, %(radius_m)s::float8, true)",
    "bng_prefilter": (
        f"ST_DWithin(l.bng, {_ORIGIN_BNG}, %(reach_m)s::float8)"
        f" AND ST_DWithin(l.geog, {_ORIGIN}, %(radius_m)s::float8, true)"
    ),
}


def shortlist_sql(variant: str = "geography", limited: bool = True) -> str:
    """Eligible listings within the radius, nearest first (ties by id), with the count.

    `limited`: the top `limit` rows and the total eligible count (what a shortlist
    answer needs); otherwise every eligible row (for the parity check).
    """
    count = ", count(*) OVER () AS eligible" if limited else ""
    tail = "\n    LIMIT %(limit)s::int" if limited else ""
    # Only module constants are interpolated; every referral value is a bound parameter.
    return (
        f"SELECT l.id, ST_Distance(l.geog, {_ORIGIN}, true) AS distance_m{count}\n"  # noqa: S608
        f"    FROM listing l\n"
        f"    WHERE {RADIUS[variant]}{_ELIGIBLE}\n"
        f'    ORDER BY distance_m, l.id COLLATE "C"{tail}'
    )


def within_radius_sql() -> str:
    """How many listings lie within the radius (no other criterion)."""
    # S608: RADIUS holds module constants; the origin and radius are bound parameters.
    return f"SELECT count(*) FROM listing l WHERE {RADIUS['geography']}"  # noqa: S608


def params(index: RegistryIndex, criteria: Criteria, limit: int) -> dict[str, Any]:
    """The query parameters for one referral."""
    from matcher.match.radius import OriginPoint

    c = criteria
    origin = OriginPoint.of(c.origin.lat, c.origin.lon)
    return {
        "lon": c.origin.lon,
        "lat": c.origin.lat,
        "e": origin.easting,
        "n": origin.northing,
        "radius_m": c.max_distance_m,
        "reach_m": reach_m(c.max_distance_m),
        "registered": REGISTRATION_CODE[OfstedRegistration.REGISTERED],
        "active": DPV_STATUS_CODE[DpvStatus.ACTIVE],
        "alert_threshold": SEVERITY_RANK[index.policy.excluding_alert_severity],
        "dpv": DPV_CODE[c.dpv],
        "lot_bit": c.lot_bit,
        "lot": LOT_CODE[c.lot],
        "needs": c.needs_mask,
        "gender_bit": c.gender_bit,
        "group": c.sibling_group_size,
        "age": c.age,
        "start": c.start_date,
        "nyi": NYI,
        "min_rank": c.min_rating_rank,
        "accept_nyi": c.accept_not_yet_inspected,
        "excluded": sorted(c.exclude_listing_ids),
        "limit": limit,
    }


def listing_rows(index: RegistryIndex) -> Iterator[tuple[Any, ...]]:
    """One COPY row per listing, in `LISTING_COLUMNS` order (floats in full precision)."""
    reg = index.registry
    offsets = reg.ceilings.offsets.tolist()
    c_lot, c_from, c_to = reg.ceil_lot.tolist(), reg.ceil_from.tolist(), reg.ceil_to.tolist()
    columns = zip(
        reg.ids,
        reg.dpv.tolist(),
        reg.lots_mask.tolist(),
        reg.genders_mask.tolist(),
        reg.age_min.tolist(),
        reg.age_max.tolist(),
        reg.needs_mask.tolist(),
        reg.vacancies.tolist(),
        reg.available_from.tolist(),
        reg.max_sibling_group.tolist(),
        reg.registration.tolist(),
        reg.rating.tolist(),
        index.rating_rank.tolist(),
        reg.restricted_until.tolist(),
        reg.dpv_status.tolist(),
        reg.open_alert_max_severity.tolist(),
        reg.lat.tolist(),
        reg.lon.tolist(),
        index.easting.tolist(),
        index.northing.tolist(),
        strict=True,
    )
    for row, (*attrs, lat, lon, e, n) in enumerate(columns):
        a, b = offsets[row], offsets[row + 1]
        yield (
            row,
            *attrs,
            c_lot[a:b],
            c_from[a:b],
            c_to[a:b],
            f"SRID=4326;POINT({lon!r} {lat!r})",
            f"SRID=27700;POINT({e!r} {n!r})",
        )
