"""requirements.lock and pyproject.toml agree, and CI tests exactly the locked versions.

The image installs the service from requirements.lock (`--require-hashes --no-deps`), and
.ci/run installs the same file before the test extras, so the suite runs on the versions
that ship. Drift fails here, naming what to do (`deploy/lock.sh`): a dependency added to
pyproject.toml but not locked, a specifier raised past its pin, a pin left behind by a
dependency that was removed, a pin without hashes, or an installed version that is not
the locked one.

The closure is walked through the installed distributions' metadata (their Requires-Dist),
with markers evaluated for the image's platform: CPython 3.11 on Linux.
"""

from __future__ import annotations

import re
import tomllib
from collections import deque
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
RELOCK = "run deploy/lock.sh and commit requirements.lock"

Requires = Callable[[str], Iterable[str]]


def target_environment(extra: str = "") -> dict[str, str]:
    """Marker environment of the image: CPython 3.11 on Linux."""
    env: dict[str, str] = dict(default_environment())
    env.update(
        python_version="3.11",
        python_full_version="3.11.0",
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        extra=extra,
    )
    return env


def parse_lock(text: str) -> tuple[dict[str, str], dict[str, int]]:
    """Pins {name: version} and the number of sha256 hashes listed under each pin."""
    pins: dict[str, str] = {}
    hashes: dict[str, int] = {}
    current: str | None = None
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = match.group(2)
            hashes[current] = 0
        if current is not None:
            hashes[current] += len(HASH.findall(line))
    return pins, hashes


def project_dependencies(pyproject_text: str) -> list[str]:
    """[project].dependencies of a pyproject.toml."""
    deps: list[str] = tomllib.loads(pyproject_text)["project"]["dependencies"]
    return deps


def installed_requires(name: str) -> Iterable[str]:
    """Requires-Dist of the installed distribution `name` (the locked version, in CI)."""
    return metadata.requires(name) or []


def drift(deps: list[str], pins: dict[str, str], requires: Requires) -> list[str]:
    """Every way the lock fails to be exactly the closure of `deps`; empty when in step."""
    problems: list[str] = []
    queue: deque[tuple[Requirement, str]] = deque((Requirement(d), "pyproject.toml") for d in deps)
    seen: set[tuple[str, frozenset[str]]] = set()
    reached: set[str] = set()
    while queue:
        req, needed_by = queue.popleft()
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} (needed by {needed_by}) is not in requirements.lock")
            continue
        if not req.specifier.contains(Version(pins[name]), prereleases=True):
            problems.append(f"{name}=={pins[name]} is locked but {needed_by} needs {req}")
        reached.add(name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        for line in requires(name):
            sub = Requirement(line)
            extras = ["", *sorted(req.extras)]
            if sub.marker is None or any(
                sub.marker.evaluate(target_environment(e)) for e in extras
            ):
                queue.append((sub, f"{name}=={pins[name]}"))
    for name in sorted(set(pins) - reached):
        problems.append(f"{name}=={pins[name]} is locked but nothing in pyproject.toml needs it")
    return problems


def test_lock_covers_exactly_the_runtime_dependencies() -> None:
    """Every runtime dependency and its dependencies are pinned within their specifiers,
    and nothing else is."""
    pins, _ = parse_lock(LOCK.read_text())
    deps = project_dependencies((ROOT / "pyproject.toml").read_text())
    problems = drift(deps, pins, installed_requires)
    assert problems == [], f"requirements.lock is out of step ({RELOCK}): {problems}"


def test_every_pin_lists_its_hashes() -> None:
    """pip --require-hashes refuses a file with any unhashed pin."""
    pins, hashes = parse_lock(LOCK.read_text())
    assert len(pins) >= 10
    assert [name for name, n in hashes.items() if n == 0] == []


def test_ci_runs_on_the_locked_versions() -> None:
    """.ci/run installs the lock first: the suite tests the versions the image ships."""
    pins, _ = parse_lock(LOCK.read_text())
    installed = {name: metadata.version(name) for name in pins}
    assert {n: v for n, v in installed.items() if Version(v) != Version(pins[n])} == {}


def test_drift_is_reported() -> None:
    """The checker itself: a new dependency, a raised specifier and a stale pin all show."""
    pins = {"a": "1.0", "b": "2.0", "stale": "0.1"}
    graph = {"a": ["b>=2"], "b": [], "stale": []}
    problems = drift(["a>=1", "b>=3", "new>=1"], pins, lambda n: graph[n])
    assert any("new>=1" in p and "not in requirements.lock" in p for p in problems)
    assert any(p.startswith("b==2.0 is locked but pyproject.toml needs b>=3") for p in problems)
    assert any(p.startswith("stale==0.1") for p in problems)
    assert drift(["a>=1"], {"a": "1.0", "b": "2.0"}, lambda n: graph[n]) == []


def test_markers_follow_the_image_platform() -> None:
    """A Windows-only dependency is not required; a requested extra's dependency is."""
    graph = {
        "a": ['colorama; sys_platform == "win32"', 'fast>=1; extra == "speed"'],
        "fast": [],
    }
    pins = {"a": "1.0", "fast": "1.2"}
    assert drift(["a[speed]"], pins, lambda n: graph[n]) == []
    assert drift(["a"], pins, lambda n: graph[n]) == [
        "fast==1.2 is locked but nothing in pyproject.toml needs it"
    ]


def test_build_lock_pins_the_build_requirements() -> None:
    """requirements-build.lock pins pyproject.toml's [build-system].requires, hashed (their
    own dependencies are not walked: the build tools are not installed here)."""
    pins, hashes = parse_lock((ROOT / "requirements-build.lock").read_text())
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for line in build:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in requirements-build.lock ({RELOCK})"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (req, RELOCK)
    assert [name for name, n in hashes.items() if n == 0] == []


def test_image_installs_from_the_lock() -> None:
    """The Dockerfile installs the hashed lock, then the project without resolving again."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"--require-hashes[^\n]*requirements\.lock", dockerfile)
    assert re.search(r"--require-hashes[^\n]*requirements-build\.lock", dockerfile)
    assert re.search(r"pip install[^\n]*--no-deps --no-build-isolation \.", dockerfile)
