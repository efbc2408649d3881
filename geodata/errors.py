"""The geodata error tree.

Every failure a caller can act on is a :class:`GeodataError`, itself a ``ValueError`` so
code that already guards parsing with ``except ValueError`` keeps working::

    GeodataError(ValueError)        .message
    ├── UnknownAuthorityError       .query, .suggestions (authority names, best first)
    ├── UnknownPostcodeError        .query, .suggestions (outcodes, best first)
    └── OutsideCoverageError        .query (Northern Ireland, Channel Islands, points outside GB)

The HTTP layer maps the whole tree to 4xx responses; the message is written for a person.
"""

from __future__ import annotations

__all__ = [
    "GeodataError",
    "OutsideCoverageError",
    "UnknownAuthorityError",
    "UnknownPostcodeError",
]


class GeodataError(ValueError):
    """Base of every geodata error; ``message`` is meant to be shown to a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownAuthorityError(GeodataError):
    """An authority name or code that matches no current English upper-tier authority."""

    def __init__(self, message: str, query: str, suggestions: list[str]) -> None:
        super().__init__(message)
        self.query = query
        self.suggestions = suggestions


class UnknownPostcodeError(GeodataError):
    """A postcode or postcode district that is malformed or not in use in Great Britain."""

    def __init__(self, message: str, query: str, suggestions: list[str]) -> None:
        super().__init__(message)
        self.query = query
        self.suggestions = suggestions


class OutsideCoverageError(GeodataError):
    """A place the data does not cover: Northern Ireland, the Crown dependencies, or not GB.

    Kept apart from the "unknown" errors because the input may be perfectly valid: the
    BT postcodes exist, they are just not in the Open Government Licence data we ship.
    """

    def __init__(self, message: str, query: str) -> None:
        super().__init__(message)
        self.query = query
