"""The shortlist: the index agrees with brute force, and no ineligible listing gets through."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import geodata
from matcher.match.criteria import Criteria, Origin
from matcher.match.eligibility import reason_bits
from matcher.match.request import METRES_PER_MILE, ShortlistRequest
from matcher.match.response import ShortlistResponse
from matcher.match.shortlist import shortlist, shortlist_bruteforce
from matcher.registry.columns import DPVS, REGISTRATIONS, STATUSES
from matcher.registry.demo import generate
from matcher.registry.index import RegistryIndex
from matcher.registry.policy import Policy
from matcher.service import Matcher
from matcher.vocabulary.catalogue import (
    LOTS_BY_DPV,
    AlertSeverity,
    Dpv,
    DpvStatus,
    Gender,
    Need,
    OfstedRating,
    OfstedRegistration,
    needs_mask,
)
from matcher.vocabulary.reasons import Reason
from tests.conftest import referral

AUTHORITIES = geodata.authorities()


@st.composite
def criteria(draw: st.DrawFn) -> Criteria:
    """Random referrals across England, DPVs, lots, needs, dates and radii."""
    authority = draw(st.sampled_from(AUTHORITIES))
    dpv = draw(st.sampled_from(list(Dpv)))
    return Criteria(
        authority_code=authority.code,
        dpv=dpv,
        lot=draw(st.sampled_from(LOTS_BY_DPV[dpv])),
        age=draw(st.integers(0, 19)),
        gender=draw(st.sampled_from(list(Gender))),
        needs_mask=needs_mask(draw(st.sets(st.sampled_from(list(Need)), max_size=3))),
        sibling_group_size=draw(st.integers(1, 4)),
        start_date=draw(st.dates(date(2025, 6, 1), date(2028, 6, 1))).toordinal(),
        origin=Origin(authority.lat, authority.lon, "authority", authority.code),
        max_distance_m=draw(st.floats(1.0, 150.0)) * METRES_PER_MILE,
        min_rating=draw(
            st.sampled_from([r for r in OfstedRating if r is not OfstedRating.NOT_YET_INSPECTED])
        ),
        accept_not_yet_inspected=draw(st.booleans()),
        exclude_listing_ids=frozenset(draw(st.sets(st.sampled_from(["L0000001", "L0000002"])))),
    )


@given(c=criteria())
def test_index_gives_the_brute_force_answer(index: RegistryIndex, c: Criteria) -> None:
    """The R-tree is an optimisation, never a change of answer (rows, order, counts)."""
    fast = shortlist(index, c, limit=500, explain_limit=500)
    slow = shortlist_bruteforce(index, c, limit=500, explain_limit=500)
    assert fast == slow


@given(c=criteria(), backend=st.sampled_from(["strtree", "rtree", "scan"]))
def test_every_backend_gives_the_same_answer(
    index: RegistryIndex, c: Criteria, backend: str
) -> None:
    """The packed R-tree (default), shapely's STRtree, libspatialindex and a plain scan
    return the same shortlist."""
    other = _backend_index(index, backend)
    assert shortlist(other, c, 500, 500) == shortlist(index, c, 500, 500)


_OTHER: dict[tuple[int, str], RegistryIndex] = {}


def _backend_index(index: RegistryIndex, backend: str) -> RegistryIndex:
    key = (id(index), backend)
    if key not in _OTHER:
        _OTHER[key] = RegistryIndex.build(index.registry, backend=backend)
    return _OTHER[key]


@pytest.fixture(scope="module")
def dense() -> RegistryIndex:
    """20,000 listings: radii holding thousands, where the answer shows a few."""
    return RegistryIndex.build(generate(20_000, seed=11))


@given(
    c=criteria(),
    limit=st.sampled_from([1, 2, 5, 20, 50]),
    explain_limit=st.sampled_from([0, 1, 3, 20, 100]),
)
def test_small_answers_from_large_radii_equal_brute_force(
    dense: RegistryIndex, c: Criteria, limit: int, explain_limit: int
) -> None:
    """The nearest few eligible and excluded listings (found by a disc that grows from
    small) are the brute force's, with the same counts, when the radius holds thousands."""
    fast = shortlist(dense, c, limit=limit, explain_limit=explain_limit)
    slow = shortlist_bruteforce(dense, c, limit=limit, explain_limit=explain_limit)
    assert fast == slow


def test_in_area_is_geodatas_point_in_polygon(dense: RegistryIndex) -> None:
    """The containment computed once per snapshot answers what `geodata.in_authority`
    answers, for every listing and every authority near it."""
    reg = dense.registry
    rows = np.arange(reg.size, dtype=np.intp)
    for authority in AUTHORITIES:
        truth = geodata.in_authority(authority.code, reg.lat, reg.lon)
        assert np.array_equal(dense.in_area(rows, authority.code), truth), authority.code


@given(c=criteria())
def test_no_ineligible_listing_is_shortlisted(index: RegistryIndex, c: Criteria) -> None:
    """Safety: suspended/barred, cancelled or suspended registration, wrong gender, missing
    need, serious alert, or beyond the radius: never on a shortlist."""
    reg = index.registry
    result = shortlist(index, c, limit=500, explain_limit=0)
    for hit in result.shortlist:
        row = hit.row
        assert STATUSES[reg.dpv_status[row]] is DpvStatus.ACTIVE
        assert REGISTRATIONS[reg.registration[row]] is OfstedRegistration.REGISTERED
        assert DPVS[reg.dpv[row]] is c.dpv
        assert reg.genders_mask[row] & c.gender_bit
        assert int(reg.needs_mask[row]) & c.needs_mask == c.needs_mask
        assert reg.age_min[row] <= c.age <= reg.age_max[row]
        assert reg.vacancies[row] >= c.sibling_group_size
        assert reg.open_alert_max_severity[row] < 3
        assert reg.ceiling_pence(row, c.lot, c.start_date) is not None
        assert hit.listing_id not in c.exclude_listing_ids
        exact = geodata.distance_m(c.origin.lat, c.origin.lon, reg.lat[row], reg.lon[row])
        assert float(exact) <= c.max_distance_m


@given(c=criteria())
def test_every_listing_is_eligible_or_counted(index: RegistryIndex, c: Criteria) -> None:
    """Each listing is eligible or carries a reason; reasons counted over the whole registry."""
    result = shortlist(index, c, limit=1, explain_limit=0)
    every = np.arange(index.registry.size, dtype=np.intp)
    bits = reason_bits(index, every, c)
    dist = geodata.distance_m(c.origin.lat, c.origin.lon, index.registry.lat, index.registry.lon)
    too_far = np.asarray(dist) > c.max_distance_m
    excluded = (bits != 0) | too_far
    assert result.eligible_count + int(excluded.sum()) == index.registry.size
    assert result.excluded_counts.get(Reason.TOO_FAR.value, 0) == int(too_far.sum())
    assert max(result.excluded_counts.values(), default=0) <= index.registry.size


@given(c=criteria())
def test_shortlist_is_ordered_by_distance_then_id(index: RegistryIndex, c: Criteria) -> None:
    """Stable order: geodesic distance, then listing id."""
    hits = shortlist(index, c, limit=500, explain_limit=0).shortlist
    keys = [(h.distance_m, h.listing_id) for h in hits]
    assert keys == sorted(keys)


def test_harrow_boy_never_reaches_female_only_or_cardiff(matcher: Matcher) -> None:
    """The report's example: a male-only search within 20 miles of Harrow."""
    answer = matcher.shortlist(ShortlistRequest.model_validate(referral(limit=500)))
    assert answer.eligible_count > 0
    index = matcher.snapshot.index
    cardiff = geodata.outcode("CF10")
    for entry in answer.shortlist:
        row = index.registry.row_of(entry.listing_id)
        assert row is not None
        assert index.registry.genders_mask[row] & 0b001  # accepts male
        assert entry.distance_miles <= 20
        d_cardiff = geodata.distance_m(cardiff.lat, cardiff.lon, index.registry.lat[row],
                                       index.registry.lon[row])  # fmt: skip
        assert float(d_cardiff) > 50 * METRES_PER_MILE


def test_excluded_listings_carry_all_their_reasons(matcher: Matcher) -> None:
    """Explained exclusions list every failed criterion, with missing needs named."""
    body = referral(child={"age": 14, "gender": "female", "needs": ["uasc", "complex_health"]})
    answer = matcher.shortlist(ShortlistRequest.model_validate(body))
    assert answer.excluded_within_radius
    index = matcher.snapshot.index
    for ex in answer.excluded_within_radius:
        row = index.registry.row_of(ex.listing_id)
        assert row is not None
        assert ex.reasons
        if "needs_not_met" in ex.reasons:
            assert set(ex.missing_needs) <= {"uasc", "complex_health"} and ex.missing_needs
        if "gender_not_accepted" in ex.reasons:
            assert not index.registry.genders_mask[row] & 0b010


def test_wider_radii_are_counted_when_few_are_eligible(matcher: Matcher) -> None:
    """Fewer than five eligible: the answer says how many 30 and 50 miles would give."""
    body = referral(max_distance_miles=2, placing_authority="Northumberland")
    answer = matcher.shortlist(ShortlistRequest.model_validate(body))
    assert answer.eligible_count < 5
    assert [w.max_distance_miles for w in answer.widen_search] == [3.0, 5.0]
    counts = [w.eligible_count for w in answer.widen_search]
    assert counts == sorted(counts) and counts[0] >= answer.eligible_count


def test_same_request_gives_byte_identical_answer(matcher: Matcher) -> None:
    """Determinism: same request + snapshot = same bytes, with a decision id."""
    req = ShortlistRequest.model_validate(referral())
    first = matcher.shortlist(req).model_dump_json()
    assert first == matcher.shortlist(req).model_dump_json()
    assert '"decision_id":"dec_' in first


def test_serious_alert_policy_is_configurable(index: RegistryIndex) -> None:
    """A strict policy (moderate excludes) excludes at least as many as the default."""
    strict = RegistryIndex.build(index.registry, Policy(AlertSeverity.MODERATE))
    assert strict.counts.alert_excluded >= index.counts.alert_excluded
    assert strict.counts.alert_excluded == int(
        np.count_nonzero(index.registry.open_alert_max_severity >= 2)
    )


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("placing_authority", "Barkng and Dagenham", "unknown_authority"),  # typo -> suggestions
        ("origin", {"lat": 48.85, "lon": 2.35}, "outside_coverage"),  # Paris
        ("origin", {"postcode_district": "BT1"}, "outside_coverage"),  # Northern Ireland
        ("max_distance_miles", 900, "limit_exceeded"),  # above the configured maximum
    ],
)
def test_bad_referrals_are_refused_with_the_field(
    matcher: Matcher, field: str, value: object, code: str
) -> None:
    """Resolution errors name the field (and suggest close authority names)."""
    from matcher.vocabulary.errors import RequestError

    with pytest.raises(RequestError) as info:
        matcher.shortlist(ShortlistRequest.model_validate(referral(**{field: value})))
    assert info.value.code == code
    assert info.value.details[0].field.startswith(field)
    if code == "unknown_authority":
        assert "Barking and Dagenham" in info.value.details[0].extra["suggestions"]


@given(c=criteria())
def test_served_bytes_are_the_response_models_own(matcher: Matcher, c: Criteria) -> None:
    """What the adapters send (the answer's data, encoded) is byte for byte what the
    response model, validated from it, serialises."""
    body = referral(
        placing_authority=c.authority_code, dpv=c.dpv.value, lot=c.lot.value,
        max_distance_miles=round(c.max_distance_m / METRES_PER_MILE, 3),
        child={"age": c.age, "gender": c.gender.value, "needs": []},
        limit=40, explain_limit=25,
    )  # fmt: skip
    answer = matcher.shortlist_answer(ShortlistRequest.model_validate(body))
    model = ShortlistResponse.model_validate_json(answer.json())
    assert answer.json() == model.model_dump_json().encode()
    assert answer.data() == model.model_dump(mode="json")


def test_in_area_means_inside_the_placing_authority(matcher: Matcher) -> None:
    """`in_area` agrees with the point-in-polygon authority of each listing."""
    body = referral(placing_authority="Birmingham", limit=500, max_distance_miles=15)
    body["child"] = {"age": 14, "gender": "male", "needs": []}
    answer = matcher.shortlist(ShortlistRequest.model_validate(body))
    index = matcher.snapshot.index
    flags = [e.in_area for e in answer.shortlist]
    truth = [
        index.authority_codes[index.registry.row_of(e.listing_id) or 0] == "E08000025"
        for e in answer.shortlist
    ]
    assert flags == truth
    assert any(flags) and not all(flags)


def test_domain_core_imports_no_web_framework() -> None:
    """The pure core (service facade and everything under it) never imports FastAPI."""
    import subprocess
    import sys

    code = "import sys, matcher.service, matcher.cli.main; print('fastapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
