#!/usr/bin/env bash
# Build the Dockerfile with podman (no daemon), run the image, and check it as a user would.
#
#   benchmarks/image/build.sh                  # base: docker.io/library/python:3.11-slim
#   benchmarks/image/build.sh --local-base     # if that cannot be pulled, build a base from
#                                              # Debian's packages (mmdebstrap) and use it
#   PYTHON_IMAGE=localhost/my-python:3.11 benchmarks/image/build.sh   # any local base
#
# Steps: install podman (and runc) from Debian when missing (as root); pull the base, or say
# why not and how to point the build at a local base; build (`podman build --format docker`,
# as root, no daemon); run the image with a read-only root filesystem, a tmpfs /tmp, all
# capabilities dropped and no-new-privileges, listening on 127.0.0.1 only; wait for /readyz;
# run the README's curl examples against it (every one must answer 200 with JSON); check it
# runs as a non-root uid; run its HEALTHCHECK once; report the image size. The result is
# printed and written to benchmarks/results/image.json. Not part of the test command.
#
# Exit status: 0 built and answered; 1 a check failed; 2 the base image is not available.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE=${IMAGE:-localhost/matcher:dev}
PYTHON_IMAGE=${PYTHON_IMAGE:-docker.io/library/python:3.11-slim}
LOCAL_BASE=localhost/matcher-base:bookworm-python3.11
RESULTS=benchmarks/results/image.json
container="matcher-image-check-$$"
local_base=0
for arg in "$@"; do
  case "$arg" in
    --local-base) local_base=1 ;;
    *) echo "usage: $0 [--local-base]" >&2; exit 2 ;;
  esac
done

say() { printf '[image] %s\n' "$*"; }

need() {  # need COMMAND DEBIAN-PACKAGE...: install from Debian when missing
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" != 0 ]; then
    say "$cmd is missing; install it as root: apt-get install $*"; exit 2
  fi
  say "installing $* from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need podman podman
# Hosts with the hybrid cgroup v1/v2 layout (these machines): crun refuses it ("cgroups in
# hybrid mode not supported"), runc works. Without CAP_SYS_RESOURCE podman's default rlimits
# (nofile 1048576 for root) cannot be set: ask for the host's own limits instead.
runtime=()
if [ -d /sys/fs/cgroup/unified ] && [ -d /sys/fs/cgroup/memory ]; then
  need runc runc
  runtime=(--runtime runc)
fi
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=4096:4096")

# ---- the base image
if ! podman image exists "$PYTHON_IMAGE"; then
  say "pulling $PYTHON_IMAGE"
  if ! pull_err=$(podman pull -q "$PYTHON_IMAGE" 2>&1); then
    say "cannot pull $PYTHON_IMAGE: ${pull_err##*$'\n'}"
    if [ "$local_base" = 0 ]; then
      cat >&2 <<EOF
[image] The Dockerfile needs a base with CPython 3.11 as python3 (with venv) and
[image] groupadd/useradd. Where Docker Hub cannot be reached, either
[image]   - load a saved copy and name it:  podman load -i python-3.11-slim.tar
[image]     then rerun with PYTHON_IMAGE=<the loaded name>; or
[image]   - rerun with --local-base: this script builds $LOCAL_BASE
[image]     from Debian bookworm's packages (python3 3.11, python3-venv; mmdebstrap) and uses it.
EOF
      exit 2
    fi
    if ! podman image exists "$LOCAL_BASE"; then
      need mmdebstrap mmdebstrap
      rootfs=$(mktemp --suffix=.tar)
      trap 'rm -f "$rootfs"' EXIT
      mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
               || true)
      say "building $LOCAL_BASE with mmdebstrap (bookworm, minbase + python3 python3-venv)"
      mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" ${mirror:+"$mirror"}
      podman import -q --change 'CMD ["/bin/bash"]' "$rootfs" "$LOCAL_BASE" >/dev/null
      rm -f "$rootfs"
    fi
    PYTHON_IMAGE=$LOCAL_BASE
  fi
fi
say "base: $PYTHON_IMAGE"

# ---- build (as root, no daemon). Where pip reaches the index through a TLS-inspecting
# proxy, the host's CA bundle is mounted for the build only (never copied into a layer).
build_args=(--build-arg "PYTHON_IMAGE=$PYTHON_IMAGE")
host_cert=${PIP_CERT:-$(python3 -m pip config get global.cert 2>/dev/null || true)}
if [ -n "$host_cert" ] && [ -f "$host_cert" ]; then
  build_args+=(-v "$host_cert:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
fi
say "building $IMAGE"
started=$(date +%s)
podman build -q --format docker --network host "${runtime[@]}" "${limits[@]}" \
  "${build_args[@]}" -t "$IMAGE" . >/dev/null
build_s=$(( $(date +%s) - started ))
size_bytes=$(podman image inspect "$IMAGE" --format '{{.Size}}')
base_bytes=$(podman image inspect "$PYTHON_IMAGE" --format '{{.Size}}')
say "built in ${build_s} s, image size $(( size_bytes / 1000000 )) MB" \
    "(base $(( base_bytes / 1000000 )) MB, matcher and its dependencies" \
    "$(( (size_bytes - base_bytes) / 1000000 )) MB)"

# ---- run it as the chart runs it, on 127.0.0.1 only
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { podman rm -f "$container" >/dev/null 2>&1 || true; }  # the one container we ran
trap cleanup EXIT
# (podman's stderr is kept aside: without systemd it complains that it cannot schedule the
# HEALTHCHECK timer, which is run once by hand below.)
run_log=$(mktemp)
if ! podman run -d --name "$container" "${runtime[@]}" "${limits[@]}" --network host \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  -e MATCHER_HOST=127.0.0.1 -e MATCHER_PORT="$port" "$IMAGE" >/dev/null 2>"$run_log"; then
  say "FAILED: podman run"; cat "$run_log" >&2; exit 1
fi
rm -f "$run_log"
base="http://127.0.0.1:$port"
ready_s=""
for i in $(seq 1 120); do
  if curl -sf "$base/readyz" >/dev/null 2>&1; then ready_s=$i; break; fi
  sleep 1
done
if [ -z "$ready_s" ]; then
  say "FAILED: /readyz did not answer 200 within 120 s"; podman logs "$container" | tail -20
  exit 1
fi
say "ready after ~${ready_s} s on $base"

# ---- the README's curl examples, as written, against this port
failures=0
examples=0
while IFS= read -r cmd; do
  [ -z "$cmd" ] && continue
  examples=$((examples + 1))
  cmd=${cmd//127.0.0.1:8000/127.0.0.1:$port}
  body=$(mktemp)
  # The command comes from this repository's README (the examples a user copies).
  code=$(eval "$cmd -o '$body' -w '%{http_code}'") || code="curl-error"
  if [ "$code" = 200 ] && python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$body"; then
    say "ok  $code  ${cmd:0:90}"
  else
    say "BAD $code  ${cmd:0:90}"; failures=$((failures + 1))
  fi
  rm -f "$body"
done < <(awk '/^curl -s/ {line=$0; while (line ~ /\\$/) {sub(/\\$/, "", line); getline nxt; line=line nxt} print line}' README.md)
if [ "$examples" = 0 ]; then say "FAILED: no curl examples found in README.md"; failures=1; fi

# ---- non-root, healthcheck
uid=$(podman exec "$container" id -u)
user=$(podman image inspect "$IMAGE" --format '{{.Config.User}}')
if [ "$uid" = 0 ]; then say "FAILED: the service runs as root"; failures=$((failures + 1)); fi
say "runs as uid $uid (image USER $user)"
if podman healthcheck run "$container" >/dev/null 2>&1; then health=healthy; else health=unhealthy; failures=$((failures + 1)); fi
say "HEALTHCHECK: $health"

mkdir -p "$(dirname "$RESULTS")"
python3 - "$RESULTS" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "image": "$IMAGE", "base": "$PYTHON_IMAGE",
           "podman": "$(podman --version | awk '{print $3}')", "build_seconds": $build_s,
           "size_bytes": $size_bytes, "base_size_bytes": $base_bytes,
           "ready_seconds": $ready_s, "uid": $uid,
           "readme_curl_examples": $examples, "failed_checks": $failures,
           "healthcheck": "$health"}, open(sys.argv[1], "w"), indent=2)
EOF
if [ "$failures" != 0 ]; then say "FAILED: $failures check(s)"; exit 1; fi
say "built and answered: $examples README examples, non-root, healthy ($RESULTS)"
