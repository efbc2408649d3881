"""Snapshots: round trip, total validation with listing ids and fields, refused as a whole."""

from __future__ import annotations

import copy
import dataclasses
import gc
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.registry import loader
from matcher.registry.columns import Csr, Registry
from matcher.registry.demo import generate
from matcher.registry.loader import load_registry, read_document, registry_from_document
from matcher.vocabulary.errors import SnapshotError


@pytest.fixture(scope="module")
def small() -> Registry:
    return generate(300, seed=11)


@pytest.fixture()
def document(small: Registry) -> dict[str, Any]:
    return copy.deepcopy(small.snapshot_dict())


def test_generated_registry_round_trips_through_json(small: Registry, tmp_path: Path) -> None:
    """Generator columns == columns loaded back from its JSON (one definition of a listing)."""
    path = tmp_path / "r.json.gz"
    path.write_bytes(gzip.compress(json.dumps(small.snapshot_dict()).encode()))
    loaded = load_registry(path)
    assert loaded.version == small.version
    for name in (
        "dpv",
        "lots_mask",
        "needs_mask",
        "genders_mask",
        "vacancies",
        "ceil_pence",
        "ceil_from",
        "svc_pence",
        "alert_severity",
        "lat",
        "lon",
        "restricted_until",
    ):
        assert np.array_equal(getattr(loaded, name), getattr(small, name)), name
    assert loaded.ids == small.ids and loaded.svc_code == small.svc_code


def test_version_ignores_formatting(document: dict[str, Any]) -> None:
    """Equal content gives the same snapshot_version however it was written."""
    a = registry_from_document(document)
    shuffled = dict(document, listings=list(reversed(document["listings"])))
    shuffled["listings"][0]["ceilings"][0]["weekly_gbp"] = (
        shuffled["listings"][0]["ceilings"][0]["weekly_gbp"].rstrip("0").rstrip(".")
    )
    assert registry_from_document(shuffled).version == a.version


def _with_alert(document: dict[str, Any]) -> dict[str, Any]:
    """The first listing with an alert and a service (added if the seed gave none)."""
    listing = next(x for x in document["listings"] if x["safeguarding_alerts"])
    if not listing["additional_services"]:
        listing["additional_services"] = [{"code": "extra_staff", "unit": "hour",
                                           "rate_gbp": "25.00"}]  # fmt: skip
    return listing


# Each edit changes one value somewhere in the document (one per kind of column).
EDITS = {
    "name": lambda x: x.update(name=x["name"] + " II"),
    "provider_id": lambda x: x.update(provider_id="P999999"),
    "lots": lambda x: x.update(
        lots=x["lots"][:1], ceilings=[c for c in x["ceilings"] if c["lot"] == x["lots"][0]]
    ),
    "location": lambda x: x.update(location={"lat": 51.6, "lon": 0.02}),
    "age_max": lambda x: x.update(age_max=x["age_max"] - 1),
    "needs": lambda x: x.update(needs=x["needs"][1:]),
    "vacancies": lambda x: x["capacity"].update(vacancies=x["capacity"]["vacancies"] - 1),
    "available_from": lambda x: x["capacity"].update(available_from="2027-03-01"),
    "ofsted.rating": lambda x: x["ofsted"].update(rating="outstanding"),
    "ofsted.urn": lambda x: x["ofsted"].update(urn="SC999999"),
    "dpv_status": lambda x: x.update(dpv_status="suspended"),
    "alert.severity": lambda x: x["safeguarding_alerts"][0].update(
        severity="moderate" if x["safeguarding_alerts"][0]["severity"] != "moderate" else "low"
    ),
    "alert.raised_by": lambda x: x["safeguarding_alerts"][0].update(raised_by="E06000001"),
    "ceiling.weekly_gbp": lambda x: x["ceilings"][0].update(weekly_gbp="1.00"),
    "ceiling.valid_to": lambda x: x["ceilings"][0].update(valid_to="2027-03-30"),
    "service.rate_gbp": lambda x: x["additional_services"][0].update(rate_gbp="26.00"),
    "kpi_score": lambda x: x.update(kpi_score=None),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_version_changes_with_any_content(document: dict[str, Any], edit: str) -> None:
    """Any one value changed anywhere gives another snapshot_version."""
    listing = _with_alert(document)
    before = registry_from_document(document).version
    EDITS[edit](listing)
    assert registry_from_document(document).version != before


def test_version_changes_with_generated_at(document: dict[str, Any]) -> None:
    before = registry_from_document(document).version
    document["generated_at"] = "2026-01-01T00:00:00Z"
    assert registry_from_document(document).version != before


def test_generated_and_loaded_registries_share_a_version(small: Registry) -> None:
    """The generator builds columns directly; the loader builds them from JSON: same hash."""
    assert registry_from_document(copy.deepcopy(small.snapshot_dict())).version == small.version


def _errors(document: dict[str, Any]) -> list[str]:
    with pytest.raises(SnapshotError) as info:
        registry_from_document(document)
    return [f"{d.field}: {d.reason}" for d in info.value.details]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda ls: ls[1].update(id=ls[0]["id"]), "duplicate listing id"),
        (lambda ls: ls[0].update(age_min=17, age_max=10), "age_min is greater than age_max"),
        (lambda ls: ls[0].update(needs=["telepathy"]), "needs.0"),
        (lambda ls: ls[0].update(location={"lat": 48.85, "lon": 2.35}), "outside Great Britain"),
        (lambda ls: ls[0].update(location={"postcode_district": "ZZ99"}), "location"),
        (lambda ls: ls[0].update(dpv="fostering", lots=["therapeutic"]), "is not a fostering lot"),
        (lambda ls: ls[0]["ceilings"].append(dict(ls[0]["ceilings"][0])), "overlapping validity"),
        (lambda ls: ls[0]["ceilings"][0].update(weekly_gbp="-5.00"), "weekly_gbp"),
        (lambda ls: ls[0]["ceilings"][0].update(weekly_gbp="4.2e3"), "weekly_gbp"),
        (lambda ls: ls[0]["capacity"].update(vacancies=99, places=1), "vacancies exceed places"),
    ],
)
def test_each_problem_is_reported_with_listing_and_field(
    document: dict[str, Any], mutate: Any, expected: str
) -> None:
    """A bad listing refuses the whole snapshot, naming the listing and the problem."""
    mutate(document["listings"])
    errors = _errors(document)
    assert any(expected in e for e in errors), errors
    assert any(document["listings"][0]["id"] in e or "listing" in e for e in errors)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ({"lat": 95.0, "lon": -1.5}, ["point.lat: Input should be less than or equal to 90"]),
        ({"postcode": "B1"}, ["postcode.postcode: String should have at least 5 characters"]),
        ({"town": "Leeds"}, ["point.lat: Field required", "point.lon: Field required",
                             "point.town: Extra inputs are not permitted"]),
        ("Leeds", [": expected {lat, lon}, {postcode} or {postcode_district}"]),
    ],
)  # fmt: skip
def test_a_bad_location_reports_only_the_form_it_was_written_in(
    document: dict[str, Any], location: Any, expected: list[str]
) -> None:
    """The location's keys choose its form, so errors are about that form, not all three."""
    document["listings"][0]["location"] = location
    label = f"listings[0]({document['listings'][0]['id']})"
    expected = [f"{label}.location{'' if e.startswith(':') else '.'}{e}" for e in expected]
    assert _errors(document) == expected


def test_all_errors_are_reported_not_just_the_first(document: dict[str, Any]) -> None:
    """Validation is total: three broken listings, three errors."""
    for listing in document["listings"][:3]:
        listing["age_min"] = 30
    assert len(_errors(document)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b'{"schema_version": 1, "listings": [', "not valid JSON"),
        (b"plain text, not gzip", "not valid gzip"),
    ],
)
def test_unreadable_files_fail_with_a_clear_message(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    """Missing, truncated or mislabelled files name the file and the problem."""
    path = tmp_path / ("r.json.gz" if message == "not valid gzip" else "r.json")
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SnapshotError) as info:
        load_registry(path)
    assert message in info.value.message and str(path) in info.value.message


def test_moorland_far_from_postcodes_is_still_great_britain() -> None:
    """Regression: points in the North Pennines (> 5 km from any postcode, inside Westmorland
    and Furness) were refused as 'outside Great Britain'; generated registries then failed."""
    import geodata

    inside = geodata.check_in_great_britain_v(np.array([54.665148, 54.718295]),
                                              np.array([-2.38007, -2.488425]))  # fmt: skip
    assert inside.all()
    assert not geodata.check_in_great_britain_v(np.array([54.0]), np.array([-4.0])).any()  # sea


def test_a_larger_generated_registry_validates(tmp_path: Path) -> None:
    """Everything the generator makes passes the loader's validation (3,000 listings)."""
    registry = generate(3000, seed=3)
    assert registry_from_document(registry.snapshot_dict()).version == registry.version


@pytest.mark.parametrize("collector_on", [True, False])
def test_loading_leaves_the_garbage_collector_as_it_found_it(
    document: dict[str, Any], tmp_path: Path, collector_on: bool
) -> None:
    """The collector is paused during a load and restored after it, refused or not."""
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(document))
    document["listings"][0]["age_min"] = 30
    bad.write_text(json.dumps(document))
    was_on = gc.isenabled()
    (gc.enable if collector_on else gc.disable)()
    try:
        assert load_registry(good).size == len(document["listings"])
        assert gc.isenabled() is collector_on
        with pytest.raises(SnapshotError):
            load_registry(bad)
        assert gc.isenabled() is collector_on
    finally:
        (gc.enable if was_on else gc.disable)()


# --- The fast path (msgspec into columns) against the reference (pydantic per listing) ---


def assert_same_registry(a: Registry, b: Registry) -> None:
    """Every column equal (values and dtypes), and the same version."""
    for f in dataclasses.fields(Registry):
        if f.name.startswith("_"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), f.name
        elif isinstance(x, Csr):
            assert np.array_equal(x.offsets, y.offsets), f.name
        else:
            assert x == y, f.name
    assert a.version == b.version


def _outcome(load: Any) -> Registry | list[str]:
    """The registry a load gives, or its error message and every detail."""
    try:
        registry: Registry = load()
    except SnapshotError as exc:
        return [exc.message] + [json.dumps(d.as_dict(), ensure_ascii=False) for d in exc.details]
    return registry


def assert_same_outcome(fast: Any, reference: Any) -> None:
    """Both loads refuse with the same errors, or accept with the same registry."""
    a, b = _outcome(fast), _outcome(reference)
    if isinstance(a, Registry) and isinstance(b, Registry):
        assert_same_registry(a, b)
    else:
        assert a == b


def _varied(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each location form, accents and every optional field omitted once."""
    listings = document["listings"]
    listings[1]["location"] = {"postcode": "IG11 7LU"}
    listings[2]["location"] = {"postcode_district": "LS1"}
    listings[3]["name"] = "Café Ünïcode 😀 home"
    for key in ("needs", "max_sibling_group", "safeguarding_alerts", "ceilings",
                "additional_services", "kpi_score"):  # fmt: skip
        listings[4].pop(key, None)
    listings[4]["lots"] = listings[4]["lots"][:1]
    listings[5]["capacity"].pop("available_from", None)
    listings[5]["ofsted"].pop("inspected_on", None)
    return document


def _alert(**fields: str) -> dict[str, str]:
    """A valid safeguarding alert, with `fields` changed."""
    alert = {"id": "SA-1", "raised_by": "E09000015", "raised_on": "2026-10-01",
             "severity": "moderate", "status": "open"}  # fmt: skip
    alert.update(fields)
    return alert


# Each edit: one listing changed. Valid ones the fast path does not take (lax JSON forms
# pydantic accepts) must still give the reference registry; invalid ones, its errors.
FAST_PATH_EDITS: dict[str, Any] = {
    "age as a string (valid: lax)": lambda x: x.update(age_min=str(x["age_min"])),
    "places as 3.0 (valid: lax)": lambda x: x["capacity"].update(
        places=float(x["capacity"]["places"])
    ),
    "kpi as true (valid: lax)": lambda x: x.update(kpi_score=True),
    "date as a timestamp (valid: lax)": lambda x: x["capacity"].update(available_from="1654646400"),
    "lat as an int (valid, plain)": lambda x: x.update(location={"lat": 52, "lon": -1}),
    "genders repeated (valid)": lambda x: x.update(genders=["male", "male"]),
    "unknown key": lambda x: x.update(colour="blue"),
    "missing name": lambda x: x.pop("name"),
    "id with a newline": lambda x: x.update(id=x["id"] + "\n"),
    "name too long": lambda x: x.update(name="x" * 201),
    "lone surrogate": lambda x: x.update(name="a\ud800"),
    "age above range": lambda x: x.update(age_max=26),
    "ages crossed": lambda x: x.update(age_min=17, age_max=10),
    "vacancies above places": lambda x: x["capacity"].update(vacancies=99, places=1),
    "lot of another DPV": lambda x: x.update(dpv="fostering", lots=["therapeutic"]),
    "lot twice": lambda x: x.update(lots=[x["lots"][0], x["lots"][0]]),
    "ceiling for an unlisted lot": lambda x: x["ceilings"].append(
        {
            "lot": "solo" if "solo" not in x["lots"] else "standard",
            "weekly_gbp": "1.00",
            "valid_from": "2026-01-01",
            "valid_to": "2026-02-01",
        }
    ),
    "ceilings overlapping": lambda x: x["ceilings"].append(dict(x["ceilings"][0])),
    "ceiling period reversed": lambda x: x["ceilings"][0].update(valid_from="2030-01-01"),
    "money with 3 decimals": lambda x: x["ceilings"][0].update(weekly_gbp="12.505"),
    "money with a newline": lambda x: x["ceilings"][0].update(weekly_gbp="12.50\n"),
    "service twice": lambda x: x.update(
        additional_services=[{"code": "transport", "unit": "day", "rate_gbp": "20"}] * 2
    ),
    "location with two forms": lambda x: x.update(location={"postcode": "IG11 7LU", "lat": 51.0}),
    "location point missing lon": lambda x: x.update(location={"lat": 51.0}),
    "location as text": lambda x: x.update(location="Leeds"),
    "unknown district": lambda x: x.update(location={"postcode_district": "ZZ99"}),
    "outside Great Britain": lambda x: x.update(location={"lat": 48.85, "lon": 2.35}),
    "NaN kpi": lambda x: x.update(kpi_score=float("nan")),
    "a list, not a listing": lambda x: x.clear(),
    "impossible date": lambda x: x["ofsted"].update(inspected_on="2026-02-30"),
    "date without zero padding": lambda x: x["ofsted"].update(inspected_on="2026-1-01"),
    "year zero": lambda x: x["capacity"].update(available_from="0000-01-01"),
    "id with a space": lambda x: x.update(id="L 1"),
    "provider id with a hash": lambda x: x.update(provider_id="P#1"),
    "money with a leading zero": lambda x: x["ceilings"][0].update(weekly_gbp="0012.50"),
    "service code in capitals": lambda x: x.update(
        additional_services=[{"code": "Transport", "unit": "day", "rate_gbp": "20"}]
    ),
    "alert from no authority": lambda x: x.update(
        safeguarding_alerts=[_alert(raised_by="E99000001")]
    ),
    "alert id with a newline": lambda x: x.update(safeguarding_alerts=[_alert(id="SA-1\n")]),
    "alert with a second alert (valid)": lambda x: x.update(
        safeguarding_alerts=[_alert(), _alert(id="SA-2", status="closed")]
    ),
}


@pytest.mark.parametrize("edit", sorted(FAST_PATH_EDITS))
def test_fast_path_gives_the_reference_result(document: dict[str, Any], edit: str) -> None:
    """Whatever one listing holds, the result is the pydantic path's, error for error."""
    document = _varied(document)
    FAST_PATH_EDITS[edit](document["listings"][7])
    fast = _outcome(lambda: registry_from_document(copy.deepcopy(document)))
    assert isinstance(fast, Registry) == ("(valid" in edit), fast
    assert_same_outcome(
        lambda: registry_from_document(copy.deepcopy(document)),
        lambda: registry_from_document(copy.deepcopy(document), fast=False),
    )


def test_fast_path_reports_every_error_of_a_mixed_snapshot(document: dict[str, Any]) -> None:
    """Errors in several chunks, a repeated id and bad locations: same list, same order."""
    document = _varied(document)
    listings = document["listings"]
    for i, edit in zip(range(10, 300, 29), sorted(FAST_PATH_EDITS), strict=False):
        FAST_PATH_EDITS[edit](listings[i])
    listings[200]["id"] = listings[100]["id"]
    assert_same_outcome(
        lambda: registry_from_document(copy.deepcopy(document)),
        lambda: registry_from_document(copy.deepcopy(document), fast=False),
    )


def _write(path: Path, text: bytes) -> Path:
    path.write_bytes(gzip.compress(text, mtime=0) if path.name.endswith(".gz") else text)
    return path


def _edited(old: str, new: str) -> Any:
    """A file shape: the JSON text with the first `old` replaced by `new`."""
    return lambda d: json.dumps(d).replace(old, new, 1).encode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("compact.json.gz", lambda d: json.dumps(d, separators=(",", ":")).encode()),
        ("indented.json", lambda d: json.dumps(d, indent=2).encode()),
        ("keys-reordered.json", lambda d: json.dumps(dict(reversed(list(d.items())))).encode()),
        ("bom.json", lambda d: b"\xef\xbb\xbf" + json.dumps(d).encode()),
        ("utf16.json", lambda d: json.dumps(d).encode("utf-16")),
        ("nan.json", _edited('"kpi_score": null', '"kpi_score": NaN')),
        ("extra-key.json", lambda d: json.dumps({**d, "extra": 1}).encode()),
        ("repeated-key.json", _edited("{", '{"schema_version": 2, ')),
        ("trailing.json", lambda d: json.dumps(d).encode() + b" x"),
        ("bad-utf8.json", _edited('"name": "', '"name": "\udcff')),  # the byte 0xff
        ("surrogate.json", _edited('"name": "', '"name": "\\ud800')),
        ("no-listings.json", lambda d: json.dumps({**d, "listings": {}}).encode()),
        ("bad-envelope.json", lambda d: json.dumps({**d, "generated_at": "yesterday"}).encode()),
        ("truncated.json", lambda d: json.dumps(d).encode()[:-50]),
    ],
)
def test_a_file_loads_as_parsing_it_whole_would(
    document: dict[str, Any], tmp_path: Path, name: str, shape: Any
) -> None:
    """However a file is written (or broken), load_registry gives what `json.loads` of the
    whole file and the pydantic path give: the same registry or the same errors."""
    path = _write(tmp_path / name, shape(_varied(document)))
    assert_same_outcome(
        lambda: load_registry(path),
        lambda: registry_from_document(read_document(path), str(path), fast=False),
    )


def _gzip_shapes(text: bytes) -> dict[str, bytes]:
    """Gzip files made unusually (or broken) around a snapshot's JSON `text`."""
    whole = gzip.compress(text, mtime=0)
    half = len(text) // 2
    wrong_size = whole[:-4] + (len(text) + 1).to_bytes(4, "little")
    return {
        "one-member.json.gz": whole,
        "two-members.json.gz": gzip.compress(text[:half], mtime=0)
        + gzip.compress(text[half:], mtime=0),
        "repeated-member.json.gz": whole + whole,
        "trailing-zeros.json.gz": whole + bytes(16),
        "trailing-garbage.json.gz": whole + b"garbage",
        "truncated.json.gz": whole[: len(whole) // 2],
        "no-trailer.json.gz": whole[:-8],
        "wrong-size-trailer.json.gz": wrong_size,
        "wrong-crc.json.gz": whole[:-8] + bytes(4) + whole[-4:],
        "empty-member.json.gz": gzip.compress(b"", mtime=0),
    }


@pytest.mark.parametrize("name", list(_gzip_shapes(b"{}")))
def test_a_gzip_file_loads_as_gzip_decompress_would(
    document: dict[str, Any], tmp_path: Path, name: str
) -> None:
    """Members, trailers and what follows them are read as the reference path reads them
    (`gzip.decompress` of the whole file): the fast path's inflate never accepts less or
    more than that, or a different text."""
    path = tmp_path / name
    path.write_bytes(_gzip_shapes(json.dumps(document).encode())[name])
    assert_same_outcome(
        lambda: load_registry(path),
        lambda: registry_from_document(read_document(path), str(path), fast=False),
    )


def test_a_plain_snapshot_never_takes_the_pydantic_path(
    small: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generated snapshot (plain JSON, valid) is read by the fast path alone."""
    path = _write(tmp_path / "r.json.gz", json.dumps(small.snapshot_dict()).encode())

    def refuse(*args: object) -> None:
        raise AssertionError("the pydantic path was taken")

    monkeypatch.setattr(loader._Validation, "_by_models", refuse)
    monkeypatch.setattr(loader, "registry_from_document", refuse)
    assert_same_registry(load_registry(path), small)


def test_one_bad_listing_among_many_chunks_is_named_as_before(tmp_path: Path) -> None:
    """The error names the listing by position and id, and the field, as the faults test
    expects of a 100,000-listing file (`listings[54321](L0054321).age_min`)."""
    document = generate(9000, seed=8).snapshot_dict()
    document["listings"][5432]["age_min"] = 99
    path = _write(tmp_path / "one-bad.json", json.dumps(document).encode())
    with pytest.raises(SnapshotError) as info:
        load_registry(path)
    assert [f"{d.field}: {d.reason}" for d in info.value.details] == [
        "listings[5432](L0005432).age_min: Input should be less than or equal to 25"
    ]


def test_the_fast_path_structs_have_the_models_fields() -> None:
    """Unknown and missing keys are judged alike only if both know the same fields."""
    from matcher.registry import columnar, snapshot

    pairs = [
        (columnar._Listing, snapshot.Listing), (columnar._Capacity, snapshot.Capacity),
        (columnar._Ofsted, snapshot.Ofsted), (columnar._Alert, snapshot.SafeguardingAlert),
        (columnar._Ceiling, snapshot.Ceiling), (columnar._Service, snapshot.AdditionalService),
    ]  # fmt: skip
    for struct, model in pairs:
        assert set(struct.__struct_fields__) == set(model.model_fields), struct
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert (
            set(
                struct.__struct_fields__[
                    : len(struct.__struct_fields__) - len(struct.__struct_defaults__)
                ]
            )
            == required
        )
    locations = set(columnar._Location.__struct_fields__)
    assert locations == {
        *snapshot.PointLocation.model_fields, *snapshot.PostcodeLocation.model_fields,
        *snapshot.DistrictLocation.model_fields,
    }  # fmt: skip


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**20), 10**20))
def test_msgspec_reads_numbers_as_json_loads_does(number: float) -> None:
    """Coordinates and scores are the floats `json.loads` would give, bit for bit."""
    import msgspec

    for text in (
        json.dumps(number),
        repr(number),
        f"{number:.17e}" if isinstance(number, float) else str(number),
    ):
        expected = float(json.loads(text))
        got = msgspec.json.decode(text.encode(), type=float)
        assert np.float64(got).tobytes() == np.float64(expected).tobytes(), text


@given(st.from_regex(r"[0-9]{0,10}(\.[0-9]{0,3})?", fullmatch=True) | st.text(max_size=6))
def test_money_is_read_as_pydantic_reads_it(amount: str) -> None:
    """The fast path's pence: refused where the model's pattern refuses, else `to_pence`."""
    import re

    from matcher.registry import columnar
    from matcher.vocabulary.money import MONEY_PATTERN, to_pence

    accepted = re.fullmatch(MONEY_PATTERN.strip("^$"), amount) is not None
    try:
        pence = int(columnar._pence([amount])[0])
    except columnar.NotPlain:
        assert not accepted
    else:
        whole, _, decimals = amount.partition(".")
        assert accepted and pence == to_pence(f"{whole}.{decimals:0<2}")
