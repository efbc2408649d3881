# syntax=docker/dockerfile:1
# matcher: the HTTP service, as a small non-root image.
#
#   docker build -t matcher .            # or: podman build --format docker -t matcher .
#   docker run -p 8000:8000 matcher                                  # embedded demo registry
#   docker run -p 8000:8000 -v "$PWD/data:/data:ro" \
#     -e MATCHER_REGISTRY_PATH=/data/registry.json.gz matcher --workers 2
#
# benchmarks/image/build.sh builds and runs it with podman (no daemon) and checks it.
# Production must set MATCHER_API_KEYS (client keys for X-API-Key) and, to enable
# POST /v1/admin/reload, MATCHER_ADMIN_TOKEN: without them the API is open to anyone who can
# reach the port. Pass them as secrets/env at run time, never baked into the image.
# `docker kill -s HUP <container>` reloads the snapshot in every worker without a restart.
#
# Dependencies come from requirements.lock only (every version pinned, every file's sha256
# checked: pip --require-hashes), and the package itself is built with the hashed build
# requirements of requirements-build.lock, without resolving anything again (--no-deps,
# --no-build-isolation). Regenerate both with deploy/lock.sh.
#
# PYTHON_IMAGE: any image with CPython 3.11 as `python3` (with venv) and Debian's
# groupadd/useradd; benchmarks/image/build.sh can make one from Debian packages where
# Docker Hub cannot be reached.
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim

########## builder: a venv with the locked dependencies, then matcher itself
FROM ${PYTHON_IMAGE} AS builder

# PIP_CERT: a CA bundle for pip, where the builder reaches the package index through a
# TLS-inspecting proxy (benchmarks/image/build.sh mounts the host's bundle); builder only.
ARG PIP_CERT=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --quiet ${PIP_CERT:+--cert "$PIP_CERT"} \
      --require-hashes --no-deps -r requirements-build.lock \
 && /opt/venv/bin/python -m pip install --quiet ${PIP_CERT:+--cert "$PIP_CERT"} \
      --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY matcher ./matcher
COPY geodata ./geodata
RUN /opt/venv/bin/python -m pip install --quiet --no-deps --no-build-isolation . \
 && /opt/venv/bin/python -m pip check \
 && /opt/venv/bin/matcher authorities --lookup Harrow >/dev/null

########## runtime
FROM ${PYTHON_IMAGE}

RUN groupadd --gid 10001 matcher \
 && useradd --uid 10001 --gid matcher --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin matcher \
 && mkdir /data && chown matcher:matcher /data

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MATCHER_HOST=0.0.0.0 \
    MATCHER_PORT=8000
# MATCHER_REGISTRY_PATH: the snapshot file (.json or .json.gz), e.g. /data/registry.json.gz
# on a mounted volume; unset = the embedded demo registry. Other MATCHER_* settings
# (MATCHER_WORKERS, MATCHER_MAX_BODY_BYTES, MATCHER_CORS_ORIGINS, ...) work the same way.
# Nothing is written at run time: the image runs with a read-only root filesystem.

USER 10001:10001
WORKDIR /data
EXPOSE 8000

# Liveness only (/healthz); orchestrators should gate traffic on /readyz (snapshot loaded).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python3 -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MATCHER_PORT', '8000'), timeout=4)" || exit 1

ENTRYPOINT ["matcher", "serve"]
