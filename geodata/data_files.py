"""Where the committed data files live, and how to read them.

``importlib.resources`` rather than ``__file__`` paths, so the package also works installed
as a wheel or zip. Only this module knows file names; nothing here is read at import time.
"""

from __future__ import annotations

import csv
import gzip
import io
from importlib import resources

__all__ = ["read_bytes", "read_csv"]


def read_bytes(name: str) -> bytes:
    """Return the bytes of ``geodata/data/<name>``, transparently gunzipping ``*.gz``."""
    raw = resources.files("geodata").joinpath("data", name).read_bytes()
    return gzip.decompress(raw) if name.endswith(".gz") else raw


def read_csv(name: str) -> list[dict[str, str]]:
    """Return the rows of a committed CSV file as dicts keyed by its header."""
    return list(csv.DictReader(io.StringIO(read_bytes(name).decode("utf-8"))))
