"""Snapshots: round trip, total validation with listing ids and fields, refused as a whole."""

from __future__ import annotations

import copy
import gc
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from matcher.registry.columns import Registry
from matcher.registry.demo import generate
from matcher.registry.loader import load_registry, registry_from_document
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
