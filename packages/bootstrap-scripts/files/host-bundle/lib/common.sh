# shellcheck shell=bash
# Constants below are read by the scripts that source this file.
# shellcheck disable=SC2034
# Helpers shared by the host bundle's scripts (sourced, never run).
#
# Every file the scripts read or write on the host goes through host_path, so that a dry run can
# point OH_ROOT at a temporary folder; commands that act on the system (dnf, systemctl, docker, mount,
# aws, iptables) get real paths and are stubbed in a dry run.

OH_ROOT="${OH_ROOT:-}"
OH_ETC=/etc/openhands-team
OH_RUN=/run/openhands-team
OH_HOME=/opt/openhands-team
OH_LOG_DIR=/var/log/openhands-team
HOST_CONFIG_FILE="$OH_ETC/host-config.json"
COMPOSE_DIR="$OH_ETC/compose"
# Secrets live on tmpfs only: fetched again at every boot, never on a disk or in a snapshot.
SECRETS_DIR="$OH_RUN/secrets"
SPAWNER_CONFIG="$OH_RUN/spawner.json"
# Per-app filtered Docker API sockets (the spawner's); the same path inside the spawner's container.
DOCKER_API_DIR=/run/ohdocker
PROXY_RUN_DIR=/var/run/oh-proxy
EFS_MOUNT_DIR=/mnt/openhands-efs
# Files this run wrote (content or mode changed); steps restart what depends on them.
CHANGED_FILES=()

log() {
  printf '%s openhands-team[%s]: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${OH_STEP:-install}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# host_path /etc/x -> the path on this host (under OH_ROOT in a dry run).
host_path() {
  printf '%s%s' "$OH_ROOT" "$1"
}

# ensure_dir MODE PATH: creates the directory (and parents) and sets its mode when it differs.
ensure_dir() {
  local mode="$1" dir
  dir="$(host_path "$2")"
  [ -d "$dir" ] || mkdir -p "$dir"
  [ "$(stat -c '%a' "$dir")" = "${mode#0}" ] || chmod "$mode" "$dir"
}

# write_file MODE PATH < content: replaces the file only when its content or mode differ, atomically
# (temporary file in the same folder, then rename), and records the path in CHANGED_FILES.
write_file() {
  local mode="$1" target tmp
  target="$(host_path "$2")"
  mkdir -p "$(dirname "$target")"
  tmp="$(mktemp "$target.XXXXXX")"
  cat >"$tmp"
  if [ -f "$target" ] && cmp -s "$tmp" "$target" && [ "$(stat -c '%a' "$target")" = "${mode#0}" ]; then
    rm -f "$tmp"
    return 0
  fi
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$target"
  CHANGED_FILES+=("$2")
  log "wrote $2"
}

# copy_file MODE SOURCE PATH: write_file with the content of SOURCE.
copy_file() {
  write_file "$1" "$3" <"$2"
}

# changed PREFIX: whether this run wrote a file whose host path starts with PREFIX.
changed() {
  local file
  for file in "${CHANGED_FILES[@]}"; do
    case "$file" in "$1"*) return 0 ;; esac
  done
  return 1
}

# cfg JQ_FILTER: one value of the host configuration; fails naming the filter when it is missing.
cfg() {
  local value
  value="$(jq -er "$1" "$(host_path "$HOST_CONFIG_FILE")" 2>/dev/null)" || die "host configuration: $1 is missing"
  printf '%s' "$value"
}

# retry ATTEMPTS DELAY COMMAND...: runs COMMAND until it succeeds, at most ATTEMPTS times.
retry() {
  local attempts="$1" delay="$2" n=1
  shift 2
  until "$@"; do
    [ "$n" -lt "$attempts" ] || return 1
    log "retrying in ${delay}s ($n/$attempts): $*"
    sleep "$delay"
    n=$((n + 1))
  done
}

# unit_enabled_and_started UNIT: enables and starts a unit only when it is not already.
unit_enabled_and_started() {
  systemctl is-enabled --quiet "$1" || systemctl enable "$1"
  systemctl is-active --quiet "$1" || systemctl start "$1"
}
