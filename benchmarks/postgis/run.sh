#!/usr/bin/env bash
# PostGIS side by side, end to end: install Debian's postgresql + postgis if missing (root),
# then `python -m benchmarks.postgis "$@"`, which starts a throwaway cluster on 127.0.0.1
# in a temp dir and always stops and removes it. Usage: benchmarks/postgis/run.sh [--sizes N ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}

if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgis >/dev/null
  else
    echo "PostGIS missing: as root, apt-get install postgresql postgis" >&2
    exit 1
  fi
fi
"$PY" -c "import psycopg" 2>/dev/null || "$PY" -m pip install --quiet 'psycopg[binary]>=3.1'

# The Python side stops and removes its cluster on exit, SIGTERM and SIGHUP. It creates it
# under a private TMPDIR, so this trap, for when the interpreter itself is killed, touches
# only this run's cluster.
work=$(mktemp -d /tmp/matcher-postgis-run.XXXXXX)
chmod 755 "$work"
cleanup() {
  for d in "$work"/matcher-postgis-*; do
    [ -d "$d/data" ] || continue
    pg_ctl=$(ls /usr/lib/postgresql/*/bin/pg_ctl | tail -1)
    if [ "$(id -u)" = "0" ]; then
      runuser -u postgres -- "$pg_ctl" -D "$d/data" -m immediate stop >/dev/null 2>&1 || true
    else
      "$pg_ctl" -D "$d/data" -m immediate stop >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
TMPDIR="$work" "$PY" -m benchmarks.postgis "$@"
