"""Security defaults: CORS off unless origins are listed, and then only those."""

from __future__ import annotations

from tests.test_http_helpers import client_for

PREFLIGHT = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}


def test_cors_is_off_by_default() -> None:
    """No CORS headers for a cross-origin request unless configured."""
    with client_for() as client:
        resp = client.get("/v1/catalogue", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in resp.headers


def test_cors_allows_only_the_listed_origins() -> None:
    """With MATCHER_CORS_ORIGINS set, a listed origin is allowed and another is not."""
    with client_for(cors_origins="https://council.example") as client:
        ok = client.get("/v1/catalogue", headers={"Origin": "https://council.example"})
        assert ok.headers["access-control-allow-origin"] == "https://council.example"
        other = client.get("/v1/catalogue", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options("/v1/shortlist", headers=PREFLIGHT)
        assert preflight.headers.get("access-control-allow-origin") != "https://evil.example"
