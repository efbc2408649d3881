#!/usr/bin/env bash
# Regenerate requirements.lock and requirements-build.lock.
#
# requirements.lock: the service's runtime dependencies ([project].dependencies
# of pyproject.toml, no extras), every version pinned and every file's sha256 listed, for
# the image's interpreter (CPython 3.11 on Linux; hashes cover every platform's wheels, so
# the same lock installs on x86_64 and aarch64).
#
#   deploy/lock.sh             # re-resolve from pyproject.toml, keeping current pins
#   deploy/lock.sh --upgrade   # take the newest versions the specifiers allow
#
# requirements-build.lock: pyproject.toml's [build-system].requires (setuptools, wheel),
# hashed the same way, so the image builds the package without an unpinned download.
#
# Run it whenever pyproject.toml's dependencies change: tests/test_lockfile.py fails until
# the lock and pyproject.toml agree. The Dockerfile and .ci/run install from this file
# (`pip install --require-hashes --no-deps -r requirements.lock`).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
if ! "$py" -m uv --version >/dev/null 2>&1; then
  "$py" -m pip install --quiet uv
fi
"$py" -m uv pip compile pyproject.toml \
  --generate-hashes \
  --python-version 3.11 \
  --python-platform linux \
  --custom-compile-command "deploy/lock.sh" \
  --output-file requirements.lock \
  "$@"

build_in=$(mktemp)
trap 'rm -f "$build_in"' EXIT
"$py" -c 'import sys, tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' >"$build_in"
"$py" -m uv pip compile "$build_in" \
  --generate-hashes \
  --python-version 3.11 \
  --python-platform linux \
  --no-annotate \
  --custom-compile-command "deploy/lock.sh" \
  --output-file requirements-build.lock \
  "$@"
