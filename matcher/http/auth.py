"""Client API keys (`X-API-Key`) and the admin bearer token, as FastAPI dependencies.

Missing or malformed credentials answer 401 (with a `WWW-Authenticate` challenge), wrong
ones 403. Credentials are never logged and never echoed; see `credentials.py` for how
they are compared.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from matcher.http.credentials import matches
from matcher.http.deps import services
from matcher.http.errors import CredentialsRequiredError
from matcher.vocabulary.errors import ErrorDetail, ForbiddenError

API_KEY_HEADER = "X-API-Key"
_WELL_FORMED = re.compile(r"^[\x21-\x7e]{1,512}$")  # visible ASCII, no spaces

_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Client key (required when the service sets MATCHER_API_KEYS).",
)
_bearer = HTTPBearer(auto_error=False, description="MATCHER_ADMIN_TOKEN as a bearer token.")


def _forbidden(message: str, field: str) -> ForbiddenError:
    return ForbiddenError(message, [ErrorDetail(field=field, reason=message)])


async def require_api_key(request: Request, key: Annotated[str | None, Security(_api_key)]) -> None:
    """Accept the request when keys are off, or when `X-API-Key` is one of the keys."""
    accepted = services(request).credentials.api_keys
    if not accepted:
        return
    if key is None or not _WELL_FORMED.match(key):
        raise CredentialsRequiredError(
            f"missing or malformed {API_KEY_HEADER} header", API_KEY_HEADER, "ApiKey"
        )
    if not matches(key, accepted):
        raise _forbidden(f"{API_KEY_HEADER} not accepted", API_KEY_HEADER)


async def require_admin(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
) -> None:
    """Accept the request only with `Authorization: Bearer <admin token>`."""
    token = services(request).credentials.admin_token
    if creds is None or not _WELL_FORMED.match(creds.credentials):
        raise CredentialsRequiredError(
            "missing or malformed bearer token", "Authorization", 'Bearer realm="matcher-admin"'
        )
    if token is None or not matches(creds.credentials, (token,)):
        raise _forbidden("bearer token not accepted", "Authorization")


ApiKey = Depends(require_api_key)
Admin = Depends(require_admin)
