"""JSON views of the geography (authorities, located places) for the CLI and the API."""

from __future__ import annotations

from typing import Any

import geodata
from matcher.match.request import locate_district, resolve_authority
from matcher.vocabulary import errors


def authority_json(a: geodata.Authority) -> dict[str, Any]:
    """An authority as listed by `matcher authorities` and `GET /v1/authorities`."""
    return {
        "code": a.code,
        "name": a.name,
        "type": a.type,
        "lat": a.lat,
        "lon": a.lon,
        "easting": a.easting,
        "northing": a.northing,
        "aliases": list(a.aliases),
        "superseded_codes": list(a.superseded_codes),
    }


def locate_json(query: str) -> dict[str, Any]:
    """A postcode or district (or failing that, an authority) located to a point."""
    text = query.strip()
    if not text:
        raise errors.RequestError("query is empty", field="q")
    try:
        district = locate_district(text, field="q")
    except errors.OutsideCoverageError:
        raise
    except errors.UnknownLocationError as not_a_district:
        try:
            authority = resolve_authority(text, field="q")
        except errors.UnknownAuthorityError:
            raise not_a_district from None
        return {
            "query": query,
            "resolved_from": "authority",
            "lat": authority.lat,
            "lon": authority.lon,
            "authority": {"code": authority.code, "name": authority.name},
        }
    holder = geodata.authority_at(district.lat, district.lon)
    code = district.authority_code or (holder.code if holder else None)
    named = geodata.authority(code) if code else None
    return {
        "query": query,
        "resolved_from": "postcode_district",
        "outcode": district.outcode,
        "lat": district.lat,
        "lon": district.lon,
        "country": district.country,
        "authority": {"code": named.code, "name": named.name} if named else None,
    }
