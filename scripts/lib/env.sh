# shellcheck shell=bash
# Shared by scripts/*: find or build a Python >= 3.14.2, keep a cached virtual
# environment outside the clone, and run commands inside it.
#
#   JK_BMS_CACHE   where the chroot and virtual environments live (default ~/.cache/jk_bms)
#   JK_BMS_PYTHON  force a specific interpreter (must be >= 3.14.2)
#   JK_BMS_HA      which Home Assistant release the venv holds (see ha_requirements_file):
#                  current (default, requirements_test.txt), oldest (2026.6.4,
#                  requirements_test_oldest.txt) or newest (requirements_newest.txt,
#                  no test harness: for scripts/smoke)

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${JK_BMS_CACHE:-${HOME:-/root}/.cache/jk_bms}"
CHROOT_DIR="$CACHE_DIR/sid-chroot"
MIN_PY="3.14.2"
DEBIAN_MIRROR="${JK_BMS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { printf '\033[1m[jk_bms]\033[0m %s\n' "$*" >&2; }

# One requirements file per supported Home Assistant release; each gets its own venv.
ha_requirements_file() {
  case "${JK_BMS_HA:-current}" in
    current) echo "requirements_test.txt" ;;
    oldest) echo "requirements_test_oldest.txt" ;;
    newest) echo "requirements_newest.txt" ;;
    *) log "JK_BMS_HA=${JK_BMS_HA} is not one of: current, oldest, newest"; return 2 ;;
  esac
}

# The venv is keyed by the requirements so that a change re-installs, and a
# fresh clone with the same requirements reuses the cached one.
requirements_hash() {
  sha256sum <"$REPO_ROOT/$REQUIREMENTS_FILE" | cut -c1-12
}

python_is_new_enough() {
  "$1" -c "import sys; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)" 2>/dev/null
}

find_host_python() {
  if [[ -n "${JK_BMS_PYTHON:-}" ]]; then
    python_is_new_enough "$JK_BMS_PYTHON" && { echo "$JK_BMS_PYTHON"; return 0; }
    log "JK_BMS_PYTHON=$JK_BMS_PYTHON is older than $MIN_PY"; return 1
  fi
  local candidate
  for candidate in python3.16 python3.15 python3.14 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && python_is_new_enough "$(command -v "$candidate")"; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}

# Mode: "host" (a new enough Python on PATH) or "chroot" (Debian sid with python3.14).
detect_mode() {
  REQUIREMENTS_FILE="$(ha_requirements_file)"
  if HOST_PYTHON="$(find_host_python)"; then
    MODE=host
    VENV_DIR="$CACHE_DIR/venv-host-$(requirements_hash)"
  elif [[ "$(id -u)" == 0 ]]; then
    MODE=chroot
    VENV_DIR="/opt/jk_bms/venv-$(requirements_hash)"   # path inside the chroot
  else
    log "Need Python >= $MIN_PY on PATH, or root to build a Debian sid chroot with python3.14."
    exit 2
  fi
}

ensure_chroot() {
  [[ -f "$CHROOT_DIR/.jk_bms_ready" ]] && return 0
  log "Building a Debian sid chroot with python3.14 in $CHROOT_DIR (once; about a minute)"
  if ! command -v debootstrap >/dev/null 2>&1; then
    log "Installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  rm -rf "$CHROOT_DIR.partial"
  mkdir -p "$CACHE_DIR"
  debootstrap --variant=minbase \
    --include=python3.14,python3.14-venv,python3.14-dev,gcc,libc6-dev,ca-certificates,git \
    sid "$CHROOT_DIR.partial" "$DEBIAN_MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 \
    || { log "debootstrap failed, see $CACHE_DIR/debootstrap.log"; exit 1; }
  rm -rf "$CHROOT_DIR"
  mv "$CHROOT_DIR.partial" "$CHROOT_DIR"
  touch "$CHROOT_DIR/.jk_bms_ready"
}

# Refresh the bits of host configuration pip needs inside the chroot.
sync_chroot_host_files() {
  cp -f /etc/resolv.conf "$CHROOT_DIR/etc/resolv.conf" 2>/dev/null || true
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    mkdir -p "$CHROOT_DIR/etc/ssl/certs"
    cp -f /etc/ssl/certs/ca-certificates.crt "$CHROOT_DIR/etc/ssl/certs/ca-certificates.crt"
  fi
  [[ -f /etc/pip.conf ]] && cp -f /etc/pip.conf "$CHROOT_DIR/etc/pip.conf"
  return 0
}

# run_in_env CMD...: run CMD with the venv first on PATH, from the repository root.
# In chroot mode every mount lives in a private mount namespace (unshare), so the
# kernel drops them when the command ends, whether it succeeds, fails or is killed.
run_in_env() {
  if [[ "$MODE" == host ]]; then
    (cd "$REPO_ROOT" && PATH="$VENV_DIR/bin:$PATH" VIRTUAL_ENV="$VENV_DIR" "$@")
    return
  fi
  sync_chroot_host_files
  local share_dir
  share_dir="$(cd "$REPO_ROOT/.." && pwd)"
  # shellcheck disable=SC2016
  unshare --mount --propagation private -- bash -euc '
    root="$1"; repo="$2"; parent="$3"; venv="$4"; shift 4
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs tmpfs "$root/tmp"
    mkdir -p "$root$parent"
    mount --rbind "$parent" "$root$parent"
    exec chroot "$root" /usr/bin/env -i \
      HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
      SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_NATIVE_TLS=1 \
      JK_BMS_DEV_BMS="${JK_BMS_DEV_BMS:-}" JK_BMS_DEV_TIME_SCALE="${JK_BMS_DEV_TIME_SCALE:-}" \
      ${SETUP_PORT:+"SETUP_PORT=$SETUP_PORT"} PYTHONDONTWRITEBYTECODE="${PYTHONDONTWRITEBYTECODE:-}" \
      PATH="$venv/bin:/usr/local/bin:/usr/bin:/bin" VIRTUAL_ENV="$venv" \
      bash -c "cd \"\$0\" && exec \"\$@\"" "$repo" "$@"
  ' jk_bms_chroot "$CHROOT_DIR" "$REPO_ROOT" "$share_dir" "$VENV_DIR" "$@"
}

venv_ready() {
  if [[ "$MODE" == host ]]; then
    [[ -f "$VENV_DIR/.jk_bms_ready" ]]
  else
    [[ -f "$CHROOT_DIR$VENV_DIR/.jk_bms_ready" ]]
  fi
}

ensure_venv() {
  venv_ready && return 0
  log "Creating the virtual environment $VENV_DIR (Home Assistant and test tools; a few minutes once)"
  local python=python3.14
  [[ "$MODE" == host ]] && python="$HOST_PYTHON"
  if [[ "$MODE" == host ]]; then
    rm -rf "$VENV_DIR"; "$python" -m venv "$VENV_DIR"
  else
    rm -rf "$CHROOT_DIR$VENV_DIR"
    run_in_env /usr/bin/python3.14 -m venv "$VENV_DIR"
  fi
  run_in_env python -m pip install --quiet --upgrade pip
  run_in_env python -m pip install --quiet -r "$REQUIREMENTS_FILE"
  if [[ "$MODE" == host ]]; then touch "$VENV_DIR/.jk_bms_ready"; else touch "$CHROOT_DIR$VENV_DIR/.jk_bms_ready"; fi
  log "Virtual environment ready"
}

setup_environment() {
  detect_mode
  mkdir -p "$CACHE_DIR"
  # Several scripts may start at once (tests in parallel with scripts/develop):
  # only one of them builds, the others wait for it and then reuse the result.
  exec {setup_lock}>"$CACHE_DIR/setup.lock"
  flock "$setup_lock"
  if [[ "$MODE" == chroot ]]; then ensure_chroot; fi
  ensure_venv
  flock -u "$setup_lock"
}

# ensure_debian_packages PROBE PACKAGE...: install Debian packages into the
# environment Home Assistant runs in (the chroot, or this host when it runs
# directly) unless PROBE, a path in that environment, already exists.
ensure_debian_packages() {
  local probe="$1"; shift
  local root=""
  [[ "$MODE" == chroot ]] && root="$CHROOT_DIR"
  [[ -e "$root$probe" ]] && return 0
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    log "Please install the Debian/Ubuntu packages: $* (needs root and apt-get)"
    return 0
  fi
  log "Installing $* (once)"
  # The chroot's package lists may be older than their Valid-Until date.
  local apt=(apt-get -qq -o Acquire::Check-Valid-Until=false)
  local cmd="${apt[*]} update && DEBIAN_FRONTEND=noninteractive ${apt[*]} install -y --no-install-recommends $* >/dev/null"
  if [[ "$MODE" == chroot ]]; then
    sync_chroot_host_files
    # shellcheck disable=SC2016
    unshare --mount --propagation private -- bash -euc '
      mount -t proc proc "$1/proc"; mount --rbind /dev "$1/dev"
      exec chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin bash -c "$2"
    ' jk_bms_apt "$CHROOT_DIR" "$cmd"
  else
    bash -c "$cmd"
  fi
}
