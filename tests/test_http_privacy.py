"""A child's details never reach a log line or a metric label (DOMAIN: sensitive data).

The referral below is distinctive: needs, gender and free text that appear nowhere else,
sent in valid, invalid and smuggled forms. Every log line the service writes is captured
(formatted exactly as in production) and searched, as is the /metrics exposition.
"""

from __future__ import annotations

import json
from typing import Any

from tests.test_http_helpers import captured_logs, client_for, rank_body, shortlist_body

FREE_TEXT = "Tallulah Quixote-Brennan"
CHILD = {
    "age": 13,
    "gender": "female",
    "needs": ["self_harm", "cse_risk"],
    "secondary_needs": ["substance_misuse"],
}
CHILD_VALUES = ("self_harm", "cse_risk", "substance_misuse", "female", FREE_TEXT, "Quixote")
CHILD_KEYS = {"child", "age", "gender", "needs", "secondary_needs"}


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_no_child_detail_in_any_log_line_or_metric_label() -> None:
    good = shortlist_body(referral_id="R-PRIVACY-0001", child=CHILD)
    with captured_logs() as logs, client_for() as c:
        answers = [
            c.post("/v1/shortlist", json=good),
            # free text in an unknown field: refused, never echoed
            c.post("/v1/shortlist", json={**good, "notes": f"{FREE_TEXT}, 13, self_harm"}),
            # free text where the referral id goes: refused, and not logged as an id
            c.post("/v1/shortlist", json={**good, "referral_id": FREE_TEXT}),
            # a child field of the wrong type
            c.post("/v1/shortlist", json={**good, "child": {**CHILD, "age": FREE_TEXT}}),
            c.post("/v1/rank", json={**rank_body(c), "referral_id": "R-PRIVACY-0002",
                                     "child": CHILD}),
            c.post("/v1/rank/compare", json={"request": {**rank_body(c), "child": CHILD},
                                             "a": {}, "b": {"profile": "cost_focused"}}),
            c.get("/v1/locate", params={"q": FREE_TEXT}),
            # many referrals at once: the batch routes log counts only
            c.post("/v1/sufficiency", json={"referrals": [good, {**good, "referral_id": "R-2"}]}),
            c.post("/v1/allocate", json={"referrals": [{**rank_body(c), "child": CHILD}]}),
            c.post("/v1/sufficiency", json={"referrals": [{**good, "notes": FREE_TEXT}]}),
            c.post("/v1/feedback/market", json={"requests": [{**rank_body(c), "child": CHILD}]}),
        ]  # fmt: skip
        metrics = c.get("/metrics").text
    assert [a.status_code for a in answers] == [200, 422, 422, 422, 200, 200, 422, 200, 200, 422,
                                                200]  # fmt: skip
    lines = logs.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    access = [r for r in records if r["msg"] == "request"]
    assert len(access) >= len(answers)
    for line, record in zip(lines, records, strict=True):
        assert not (_keys(record) & CHILD_KEYS), line
        for value in CHILD_VALUES:
            assert value not in line, (value, line)
    for value in CHILD_VALUES:
        assert value not in metrics
    # What the log does say about the shortlist: its id, snapshot and counts.
    first = next(r for r in access if r.get("referral_id") == "R-PRIVACY-0001")
    assert first["route"] == "/v1/shortlist"
    assert first["status"] == 200
    assert first["snapshot_version"].startswith("sha256:")
    assert set(first["counts"]) == {"within_radius", "eligible", "shortlisted"}
    # A refused body still logs its (well-formed) referral id, and only that.
    refused = [r for r in access if r["status"] == 422 and r["route"] == "/v1/shortlist"]
    assert [r["referral_id"] for r in refused] == ["R-PRIVACY-0001", None, "R-PRIVACY-0001"]
    assert any(r.get("referral_id") == "R-PRIVACY-0002" for r in access)


def test_error_bodies_never_echo_the_child() -> None:
    body = shortlist_body(child={**CHILD, "age": FREE_TEXT, "needs": ["self_harm", FREE_TEXT]})
    with client_for() as c:
        r = c.post("/v1/shortlist", json=body)
        batch = c.post("/v1/sufficiency", json={"referrals": [shortlist_body(), body]})
    assert r.status_code == 422
    assert FREE_TEXT not in r.text
    assert {d["field"] for d in r.json()["error"]["details"]} >= {"child.age", "child.needs.1"}
    assert batch.status_code == 422
    assert FREE_TEXT not in batch.text
    assert "referrals.1.child.age" in {d["field"] for d in batch.json()["error"]["details"]}
