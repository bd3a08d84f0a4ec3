#!/usr/bin/env bash
# Watchdog (oh-health.timer, every 30 s): heals what the load balancer would otherwise replace the whole
# host for. Puts the firewall back when its rules are gone (someone flushed iptables), and restarts the
# stack after three health checks in a row failed.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR/..
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
export OH_STEP=health

HEALTH_URL=http://127.0.0.1:8080/_oh/health
MAX_FAILURES=3
FAILURES_FILE="$OH_RUN/health-failures"

# sandboxes unfiltered: the firewall's jumps are checked on every run, not only at boot
restore_firewall() {
  local firewall
  firewall="$(host_path "$OH_HOME/host/firewall/oh-firewall.sh")"
  if "$firewall" --check; then
    return 0
  fi
  log "firewall rules missing, applying them again"
  "$firewall" "$(host_path "$OH_HOME/host/firewall/oh-firewall.rules")" "$(host_path "$FIREWALL_SETTINGS")"
}

check_stack() {
  local failures=0 file
  file="$(host_path "$FAILURES_FILE")"
  if curl -fsS --max-time 5 "$HEALTH_URL" >/dev/null 2>&1; then
    rm -f "$file"
    return 0
  fi
  [ -f "$file" ] && failures="$(cat "$file")"
  failures=$((failures + 1))
  if [ "$failures" -lt "$MAX_FAILURES" ]; then
    mkdir -p "$(dirname "$file")"
    echo "$failures" >"$file"
    log "health check failed ($failures/$MAX_FAILURES)"
    return 0
  fi
  rm -f "$file"
  log "health check failed $MAX_FAILURES times in a row, restarting openhands-team.service"
  systemctl restart openhands-team.service
}

# first deploy: the edge stack created its secrets parameter after this host booted
fill_pending_edge_secrets() {
  [ -f "$(host_path "$EDGE_SECRETS_PENDING")" ] || return 0
  # shellcheck source=steps/50-secrets.sh source-path=SCRIPTDIR/..
  source "$(dirname "${BASH_SOURCE[0]}")/../steps/50-secrets.sh"
  load_host_config_values
  OH_REGION="$(cfg .region)"
  export OH_REGION
  fill_edge_secrets
}

main() {
  restore_firewall
  fill_pending_edge_secrets
  systemctl is-active --quiet openhands-team.service || return 0
  check_stack
}

main "$@"
