"""Packaging metadata builds without deprecation warnings: the licence is an SPDX string
(a `license = {text = ...}` table warns at every setuptools >= 77 build)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def test_license_is_an_spdx_expression() -> None:
    """[project].license is a string, and the build backend is new enough to read it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    setuptools = next(
        Requirement(r) for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")
    )
    assert not setuptools.specifier.contains(Version("76.9"))
    assert setuptools.specifier.contains(Version("77.0"))
