# shellcheck shell=bash
# Constants below are read by the scripts that source this file.
# shellcheck disable=SC2034
# Helpers shared by the host bundle's scripts (sourced, never run).
#
# Every file the scripts read or write on the host goes through host_path, so that a dry run can
# point OH_ROOT at a temporary folder; commands that act on the system (dnf, systemctl, docker, mount,
# aws, iptables) get real paths and are stubbed in a dry run.

# `producer | write_file ...` must run write_file in this shell, or what it records in CHANGED_FILES is lost.
shopt -s lastpipe

OH_ROOT="${OH_ROOT:-}"
OH_ETC=/etc/openhands-team
OH_RUN=/run/openhands-team
OH_HOME=/opt/openhands-team
OH_LOG_DIR=/var/log/openhands-team
HOST_CONFIG_FILE="$OH_ETC/host-config.json"
COMPOSE_DIR="$OH_ETC/compose"
# The deployment's values the firewall's rules need (VPC CIDRs, database port), read by oh-firewall.sh.
FIREWALL_SETTINGS="$OH_ETC/firewall.env"
# Secrets live on tmpfs only: fetched again at every boot, never on a disk or in a snapshot.
SECRETS_DIR="$OH_RUN/secrets"
# present while the edge stack has not created the edge secrets parameter yet; the watchdog retries
EDGE_SECRETS_PENDING="$OH_RUN/edge-secrets-pending"
SPAWNER_CONFIG="$OH_RUN/spawner.json"
# Per-app filtered Docker API sockets (the spawner's); the same path inside the spawner's container.
DOCKER_API_DIR=/run/ohdocker
PROXY_RUN_DIR=/var/run/oh-proxy
EFS_MOUNT_DIR=/mnt/openhands-efs
# The users' networks, one value for the spawner (network.subnetPrefix), the proxy (userSubnetPrefix: it accepts
# upstreams only inside it) and the firewall (USER_NETWORKS in oh-firewall.sh, whose rules are written for it).
USER_SUBNET_PREFIX=10.240
# The port OpenHands listens on in each app container (spawner network.appPort, proxy appPort).
APP_PORT=3000
# Files this run wrote (content or mode changed); steps restart what depends on them.
CHANGED_FILES=()

log() {
  TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T openhands-team[%s]: %s\n' -1 "${OH_STEP:-install}" "$*" >&2
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
  dir="$OH_ROOT$2"
  [ -d "$dir" ] || mkdir -p "$dir"
  [ "$(stat -c '%a' "$dir")" = "${mode#0}" ] || chmod "$mode" "$dir"
}

# write_file MODE PATH < content: replaces the file only when its content or mode differ, atomically
# (temporary file in the same folder, then rename), and records the path in CHANGED_FILES. Text files
# only; bash builtins do the comparison, so an unchanged file costs one stat.
write_file() {
  local mode="$1" target content="" current="" tmp
  target="$OH_ROOT$2"
  IFS= read -r -d '' content || true
  if [ -f "$target" ]; then
    IFS= read -r -d '' current <"$target" || true
    if [ "$content" = "$current" ] && [ "$(stat -c '%a' "$target")" = "${mode#0}" ]; then
      return 0
    fi
  fi
  [ -d "${target%/*}" ] || mkdir -p "${target%/*}"
  tmp="$target.new.$$"
  (umask 077 && printf '%s' "$content" >"$tmp")
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

# Scalar values of the host configuration by path ("images.app", "bedrock.models.0"), loaded once.
declare -gA CFG=()

load_host_config_values() {
  local path value
  CFG=()
  while IFS=$'\t' read -r path value; do
    CFG["$path"]="$value"
  done < <(jq -r 'paths(scalars) as $p | [($p | map(tostring) | join(".")), (getpath($p) | tostring)] | @tsv' \
    "$(host_path "$HOST_CONFIG_FILE")")
}

# cfg .PATH: one value of the host configuration; fails naming the path when it is missing.
cfg() {
  local path="${1#.}"
  [ -n "${CFG[$path]+set}" ] || die "host configuration: $1 is missing"
  printf '%s' "${CFG[$path]}"
}

# ecs_mode: whether users' apps and sandboxes run as ECS tasks (the host configuration has its ecs section, docs/ecs.md).
ecs_mode() {
  [ -n "${CFG[ecs.cluster]+set}" ]
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
