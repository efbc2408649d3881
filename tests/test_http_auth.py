"""Client API keys and the admin bearer token: off, on, missing (401), wrong (403)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_http_helpers import captured_logs, client_for, shortlist_body, write_registry

KEYS = "key-one,key-two"
ADMIN = "s3cret-admin-token"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/v1/catalogue", "GET"),  # reference
        ("/v1/authorities?q=Harrow", "GET"),  # geography
        ("/v1/shortlist", "POST"),  # matching
    ],
)
def test_keys_off_means_open(path: str, method: str) -> None:
    with client_for() as c:
        r = c.request(method, path, json=shortlist_body() if method == "POST" else None)
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),  # no header
        ({"X-API-Key": ""}, 401, "unauthorized"),  # empty
        ({"X-API-Key": "has space"}, 401, "unauthorized"),  # malformed
        ({"X-API-Key": "key-three"}, 403, "forbidden"),  # well-formed, not accepted
        ({"X-API-Key": "key-one"}, 200, None),  # first key
        ({"X-API-Key": "key-two"}, 200, None),  # second key
    ],
)
def test_keys_on_require_a_configured_key(
    headers: dict[str, str], status: int, code: str | None
) -> None:
    with client_for(api_keys=KEYS) as c:
        r = c.post("/v1/shortlist", json=shortlist_body(), headers=headers)
    assert r.status_code == status
    if code:
        assert r.json()["error"]["code"] == code
        assert r.json()["error"]["details"][0]["field"] == "X-API-Key"
    if status == 401:
        assert r.headers["www-authenticate"] == "ApiKey"


def test_operations_routes_need_no_key() -> None:
    with client_for(api_keys=KEYS) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        assert c.get("/metrics").status_code == 200


def test_openapi_declares_the_key_only_when_keys_are_on() -> None:
    with client_for() as off, client_for(api_keys=KEYS) as on:
        open_spec = off.get("/openapi.json").json()
        keyed_spec = on.get("/openapi.json").json()
    assert "security" not in open_spec["paths"]["/v1/shortlist"]["post"]
    assert keyed_spec["paths"]["/v1/shortlist"]["post"]["security"] == [{"APIKeyHeader": []}]


def test_admin_route_is_absent_without_a_token() -> None:
    with client_for() as c:
        r = c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),  # no header
        ("Basic dXNlcjpwYXNz", 401),  # another scheme
        ("Bearer", 401),  # no token
        ("Bearer wrong-token", 403),  # wrong token
        (f"Bearer {ADMIN}x", 403),  # a longer token
    ],
)
def test_admin_reload_refuses_missing_or_wrong_tokens(
    authorization: str | None, status: int
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with client_for(admin_token=ADMIN) as c:
        r = c.post("/v1/admin/reload", headers=headers)
    assert r.status_code == status
    assert r.json()["error"]["code"] == ("unauthorized" if status == 401 else "forbidden")
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_admin_reload_with_the_token_reloads(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    version = write_registry(path, 200, seed=5)
    with client_for(admin_token=ADMIN, registry_path=path) as c:
        r = c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200
    assert r.json()["new_snapshot_version"] == version


def test_admin_token_needs_no_client_key_and_a_client_key_is_no_admin_token() -> None:
    with client_for(admin_token=ADMIN, api_keys=KEYS) as c:
        as_client = c.post(
            "/v1/admin/reload", headers={"X-API-Key": "key-one", "Authorization": "Bearer key-one"}
        )
    assert as_client.status_code == 403


def test_credentials_never_reach_logs_or_error_bodies() -> None:
    with captured_logs() as logs, client_for(api_keys=KEYS, admin_token=ADMIN) as c:
        wrong_key = c.get("/v1/catalogue", headers={"X-API-Key": "guess-key-123"})
        right_key = c.get("/v1/catalogue", headers={"X-API-Key": "key-one"})
        wrong_admin = c.post("/v1/admin/reload", headers={"Authorization": "Bearer guess-tok"})
        metrics = c.get("/metrics").text
    assert right_key.status_code == 200
    for secret in ("guess-key-123", "key-one", "key-two", "guess-tok", ADMIN):
        assert secret not in logs.getvalue()
        assert secret not in metrics
        assert secret not in wrong_key.text
        assert secret not in wrong_admin.text
