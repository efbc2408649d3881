"""One entry point from free text to a point: a postcode, a district, or an authority."""

from __future__ import annotations

from geodata.authorities import authority
from geodata.errors import UnknownAuthorityError
from geodata.postcodes import looks_like_postcode, outcode

__all__ = ["locate"]


def locate(query: str) -> tuple[float, float, str]:
    """Return ``(lat, lon, how)`` for a postcode, postcode district, or authority name/code.

    ``how`` says what the point stands for, so callers can tell the user how rough it is:
    "postcode_district" (mean of the district's postcodes; a full postcode is read down to
    its district) or "authority" (the authority's representative point).

    Raises
    ------
    OutsideCoverageError
        Northern Ireland, Channel Islands or Isle of Man postcodes.
    UnknownPostcodeError
        Text shaped like a postcode whose district is not in use.
    UnknownAuthorityError
        Anything else that names no authority (with suggestions).
    """
    if looks_like_postcode(query):
        found = outcode(query)
        return found.lat, found.lon, "postcode_district"
    try:
        place = authority(query)
    except UnknownAuthorityError as exc:
        raise UnknownAuthorityError(
            f"{query!r} is neither a postcode nor an authority we know: {exc.message}",
            query=query,
            suggestions=exc.suggestions,
        ) from exc
    return place.lat, place.lon, "authority"
