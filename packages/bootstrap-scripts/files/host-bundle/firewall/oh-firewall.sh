#!/usr/bin/env bash
# Applies the host firewall: loads the OH-* chains of oh-firewall.rules (the reachability matrix is
# written there, next to the rules) and makes sure each is jumped to exactly once, first in line.
# Idempotent: running it again rebuilds the same chains and adds no second jump. Run by
# oh-firewall.service after every start of docker.service.
set -euo pipefail

RULES_FILE="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/oh-firewall.rules}"

log() {
  echo "oh-firewall: $*" >&2
}

# Bridged frames between two containers of one bridge only meet iptables with br_netfilter on;
# without it, inter-container traffic on a user bridge would bypass the FORWARD rules.
enable_bridge_netfilter() {
  if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    modprobe br_netfilter
  fi
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1
}

# Docker creates DOCKER-USER when it starts; create it ourselves if we run first, and let Docker jump to it.
ensure_chain() {
  local chain="$1"
  iptables -w -n -L "$chain" >/dev/null 2>&1 || iptables -w -N "$chain"
}

# A missing jump is inserted at the top of the chain; an existing one is left where it is.
ensure_jump() {
  local from="$1" to="$2"
  if iptables -w -C "$from" -j "$to" 2>/dev/null; then
    return 0
  fi
  iptables -w -I "$from" 1 -j "$to"
  log "jump $from -> $to added"
}

load_rules() {
  iptables-restore -w --noflush <"$RULES_FILE"
  log "loaded $(grep -c '^-A ' "$RULES_FILE") rules from $RULES_FILE"
}

main() {
  [ -r "$RULES_FILE" ] || {
    log "rules file $RULES_FILE is missing"
    exit 1
  }
  enable_bridge_netfilter
  ensure_chain DOCKER-USER
  load_rules
  ensure_jump INPUT OH-INPUT
  ensure_jump DOCKER-USER OH-FORWARD
  ensure_jump FORWARD DOCKER-USER
}

main "$@"
