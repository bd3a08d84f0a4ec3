#!/usr/bin/env bash
# Applies the host firewall: loads the OH-* chains of oh-firewall.rules (IPv4; the reachability matrix is
# written there, next to the rules) and oh-firewall6.rules (IPv6, next to it), and makes sure each is
# jumped to exactly once, first in line.
#
#   oh-firewall.sh [RULES_FILE [SETTINGS_FILE]]    apply (defaults: ./oh-firewall.rules, /etc/openhands-team/firewall.env)
#   oh-firewall.sh --check                         exit 0 when every jump is in place, 1 otherwise (changes nothing)
#
# SETTINGS_FILE holds the deployment's values the rules need, one KEY=value a line (written by the
# installer from the host configuration): VPC_CIDRS (the VPC's IPv4 CIDRs, space-separated, the primary
# first), DATABASE_PORT (Aurora's port) and, in ECS mode only, TASK_CIDRS (the task subnets' CIDRs, space-separated;
# their presence loads the rules marked @ECS@). Without valid settings nothing is loaded and the script fails,
# so docker.service (which requires oh-firewall.service) does not start unfiltered.
# Idempotent: running it again rebuilds the same chains and adds no second jump. Run by
# oh-firewall.service before docker.service at every boot, by the installer and by the watchdog.
set -euo pipefail

FIREWALL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# the per-user Docker networks (docs/CONTRACTS.md); the VPC must not overlap them
USER_NETWORKS=10.240.0.0/16

log() {
  echo "oh-firewall: $*" >&2
}

die() {
  log "$*"
  exit 1
}

# Whether this kernel has IPv6 at all (no IPv6, nothing to filter).
ipv6_on() {
  [ -e /proc/net/if_inet6 ]
}

# Bridged frames between two containers of one bridge only meet iptables with br_netfilter on;
# without it, inter-container traffic on a user bridge would bypass the FORWARD rules.
enable_bridge_netfilter() {
  if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    modprobe br_netfilter
  fi
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1
  if ipv6_on; then
    sysctl -q -w net.bridge.bridge-nf-call-ip6tables=1
  fi
}

# ip_to_int A.B.C.D: the address as a 32-bit number.
ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip() {
  echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# cidr_range A.B.C.D/N: "<first> <last>" as numbers.
cidr_range() {
  local address="${1%/*}" bits="${1#*/}" mask first
  mask=$(((0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF))
  first=$(($(ip_to_int "$address") & mask))
  echo "$first $((first | (~mask & 0xFFFFFFFF)))"
}

# parse_cidr FILE KEY CIDR MIN MAX: CIDR_FIRST and CIDR_LAST (numbers) and CIDR (host bits cleared) of an a.b.c.d/n whose
# prefix length lies in MIN-MAX; anything else stops the script naming the file, the key and the value.
parse_cidr() {
  local file="$1" key="$2" value="$3" min="$4" max="$5" octet bits
  [[ "$value" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] ||
    die "settings file $file: $key: \"$value\" is not an IPv4 CIDR such as 10.0.0.0/16"
  for octet in "${BASH_REMATCH[@]:1:4}"; do
    [ "$((10#$octet))" -le 255 ] || die "settings file $file: $key: \"$value\" is not an IPv4 CIDR (each of a.b.c.d must be 0-255)"
  done
  bits="$((10#${BASH_REMATCH[5]}))"
  if [ "$bits" -lt "$min" ] || [ "$bits" -gt "$max" ]; then
    die "settings file $file: $key: \"$value\" has a prefix length outside $min-$max"
  fi
  CIDR="$((10#${BASH_REMATCH[1]})).$((10#${BASH_REMATCH[2]})).$((10#${BASH_REMATCH[3]})).$((10#${BASH_REMATCH[4]}))/$bits"
  read -r CIDR_FIRST CIDR_LAST <<<"$(cidr_range "$CIDR")"
  CIDR="$(int_to_ip "$CIDR_FIRST")/$bits"
}

# within FIRST LAST CIDR: whether the range FIRST-LAST lies inside CIDR.
within() {
  local first last
  read -r first last <<<"$(cidr_range "$3")"
  [ "$1" -ge "$first" ] && [ "$2" -le "$last" ]
}

# Values reach iptables rules: anything outside these shapes is refused before a rule is written.
read_settings() {
  local file="$1" line key value cidr first last user_first user_last vpc inside normalised=() tasks=()
  [ -r "$file" ] || die "settings file $file is missing (the installer writes it from the host configuration)"
  VPC_CIDRS=""
  DATABASE_PORT=""
  TASK_CIDRS=""
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | '#'*) continue ;; esac
    key="${line%%=*}"
    value="${line#*=}"
    case "$key" in
      VPC_CIDRS) VPC_CIDRS="$value" ;;
      DATABASE_PORT) DATABASE_PORT="$value" ;;
      TASK_CIDRS) TASK_CIDRS="$value" ;;
      *) die "settings file $file: unknown line \"$line\" (expected VPC_CIDRS=..., DATABASE_PORT=... and in ECS mode TASK_CIDRS=...)" ;;
    esac
  done <"$file"
  [ -n "$VPC_CIDRS" ] || die "settings file $file: VPC_CIDRS is missing or empty (the VPC's IPv4 CIDRs)"
  read -r user_first user_last <<<"$(cidr_range "$USER_NETWORKS")"
  for cidr in $VPC_CIDRS; do
    parse_cidr "$file" VPC_CIDRS "$cidr" 8 32
    if [ "$CIDR_FIRST" -le "$user_last" ] && [ "$user_first" -le "$CIDR_LAST" ]; then
      die "settings file $file: VPC_CIDRS: \"$cidr\" overlaps the user networks $USER_NETWORKS"
    fi
    normalised+=("$CIDR")
  done
  VPC_CIDRS="${normalised[*]}"
  # AmazonProvidedDNS: the primary CIDR's base address + 2
  read -r first last <<<"$(cidr_range "${normalised[0]}")"
  VPC_DNS="$(int_to_ip $((first + 2)))"
  if [[ ! "$DATABASE_PORT" =~ ^[1-9][0-9]{0,4}$ ]] || [ "$DATABASE_PORT" -gt 65535 ]; then
    die "settings file $file: DATABASE_PORT: \"$DATABASE_PORT\" is not a TCP port"
  fi
  # ECS mode: the task subnets get the relay, gateway, sandbox API and sandbox-name doors. A CIDR outside the VPC would
  # open them to a peered or public network; a short prefix, to the whole VPC.
  read -r -a tasks <<<"$TASK_CIDRS"
  [ "${#tasks[@]}" -le 16 ] || die "settings file $file: TASK_CIDRS: ${#tasks[@]} CIDRs, more than the 16 subnets a task may name"
  tasks=()
  for cidr in $TASK_CIDRS; do
    parse_cidr "$file" TASK_CIDRS "$cidr" 16 28
    within "$CIDR_FIRST" "$CIDR_LAST" 10.0.0.0/8 || within "$CIDR_FIRST" "$CIDR_LAST" 172.16.0.0/12 ||
      within "$CIDR_FIRST" "$CIDR_LAST" 192.168.0.0/16 ||
      die "settings file $file: TASK_CIDRS: \"$cidr\" is not a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"
    inside=""
    for vpc in $VPC_CIDRS; do
      if within "$CIDR_FIRST" "$CIDR_LAST" "$vpc"; then inside=yes; fi
    done
    [ -n "$inside" ] || die "settings file $file: TASK_CIDRS: \"$cidr\" lies outside the VPC ($VPC_CIDRS)"
    tasks+=("$CIDR")
  done
  TASK_CIDRS="${tasks[*]}"
}

# The rules file with its placeholders filled (see oh-firewall.rules); its comments stay in the file, which names the
# placeholders in them.
render_rules() {
  local line cidr
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '#'*) continue ;; esac
    if [[ "$line" == @ECS@* ]]; then
      # ECS mode's rules: loaded only when the settings name the task subnets
      [ -n "$TASK_CIDRS" ] || continue
      line="${line#@ECS@}"
    fi
    line="${line//@VPC_DNS@/$VPC_DNS}"
    line="${line//@DATABASE_PORT@/$DATABASE_PORT}"
    if [[ "$line" == *@VPC_CIDR@* ]]; then
      for cidr in $VPC_CIDRS; do
        printf '%s\n' "${line//@VPC_CIDR@/$cidr}"
      done
    elif [[ "$line" == *@TASK_CIDR@* ]]; then
      for cidr in $TASK_CIDRS; do
        printf '%s\n' "${line//@TASK_CIDR@/$cidr}"
      done
    else
      printf '%s\n' "$line"
    fi
  done <"$1"
}

# Docker creates DOCKER-USER when it starts; create it ourselves if we run first, and let Docker jump to it.
ensure_chain() {
  local tool="$1" chain="$2"
  "$tool" -w -n -L "$chain" >/dev/null 2>&1 || "$tool" -w -N "$chain"
}

# A missing jump is inserted at the top of the chain; an existing one is left where it is.
ensure_jump() {
  local tool="$1" from="$2" to="$3"
  if "$tool" -w -C "$from" -j "$to" 2>/dev/null; then
    return 0
  fi
  "$tool" -w -I "$from" 1 -j "$to"
  log "$tool: jump $from -> $to added"
}

JUMPS=("INPUT OH-INPUT" "DOCKER-USER OH-FORWARD" "FORWARD DOCKER-USER")

# A removed user network's addresses never leave the host: with its /24 route gone, traffic from the host to
# them (the proxy's cached route, a stale upstream) would follow the default route into the VPC. A blackhole for
# the whole range answers at once instead; each live bridge's own /24 route is more specific and wins.
blackhole_user_networks() {
  ip route replace blackhole "$USER_NETWORKS"
}

blackhole_in_place() {
  ip route show type blackhole "$USER_NETWORKS" | grep -q .
}

# Exit status 0 when every jump of both families, and the blackhole route, are in place.
jumps_in_place() {
  local tool jump from to
  blackhole_in_place || return 1
  for tool in iptables ip6tables; do
    [ "$tool" = iptables ] || ipv6_on || continue
    for jump in "${JUMPS[@]}"; do
      read -r from to <<<"$jump"
      "$tool" -w -C "$from" -j "$to" 2>/dev/null || return 1
    done
  done
}

apply() {
  local tool="$1" rules="$2" jump from to
  ensure_chain "$tool" DOCKER-USER
  "$tool-restore" -w --noflush <<<"$rules"
  log "$tool: loaded $(grep -c '^-A ' <<<"$rules") rules"
  for jump in "${JUMPS[@]}"; do
    read -r from to <<<"$jump"
    ensure_jump "$tool" "$from" "$to"
  done
}

main() {
  if [ "${1:-}" = --check ]; then
    jumps_in_place
    return
  fi
  local rules_file="${1:-$FIREWALL_DIR/oh-firewall.rules}" settings_file="${2:-/etc/openhands-team/firewall.env}" rules6_file rules
  rules6_file="$(dirname "$rules_file")/oh-firewall6.rules"
  [ -r "$rules_file" ] || die "rules file $rules_file is missing"
  [ -r "$rules6_file" ] || die "rules file $rules6_file is missing"
  read_settings "$settings_file"
  rules="$(render_rules "$rules_file")"
  enable_bridge_netfilter
  blackhole_user_networks
  apply iptables "$rules"
  log "VPC ${VPC_CIDRS// /, } (resolver $VPC_DNS, database port $DATABASE_PORT)"
  if [ -n "$TASK_CIDRS" ]; then log "ECS mode: task subnets ${TASK_CIDRS// /, } reach the relay, gateway, sandbox API and proxy"; fi
  if ipv6_on; then
    apply ip6tables "$(cat "$rules6_file")"
  else
    log "IPv6 is off in this kernel: no IPv6 rules needed"
  fi
}

main "$@"
