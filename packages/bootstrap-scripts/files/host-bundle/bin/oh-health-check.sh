#!/usr/bin/env bash
# Watchdog (oh-health.timer, every 30 s): publishes the spawner's figures, and heals what the load balancer would otherwise
# replace the whole host for. Puts the firewall back when its rules are gone (someone flushed iptables), and restarts the
# stack after three health checks in a row found nginx or the spawner dead or hung (not for a database outage).
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR/..
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
export OH_STEP=health

HEALTH_URL=http://127.0.0.1:8080/_oh/health
STATS_URL=http://127.0.0.1:8081/v1/stats
STATS_LAST_FILE="$OH_RUN/spawner-stats-last.json"
METRICS_NAMESPACE=OpenHandsTeam
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

# /_oh/health (runtime-proxy README "Health"): {"nginx":"ok","spawner":"ok"|"degraded"|"unreachable"|"not_answering"}.
# No answer at all (nginx down) or a spawner that is gone or hung counts as a failure; three in a row (about 90 s)
# restart the stack. A degraded spawner (it answers, PostgreSQL or Docker does not) is logged and not restarted:
# a restart cannot bring a database back, and would only drop the users' open sessions.
check_stack() {
  local failures=0 file answer state failing
  file="$(host_path "$FAILURES_FILE")"
  answer="$(curl -sS --max-time 5 "$HEALTH_URL" 2>/dev/null)" || answer=""
  state="$(jq -r '.spawner // "unknown"' <<<"$answer" 2>/dev/null)" || state="no answer"
  [ -n "$answer" ] || state="no answer"
  case "$state" in
    ok)
      rm -f "$file"
      return 0
      ;;
    degraded)
      rm -f "$file"
      failing="$(jq -r '(.failing // []) | map(tostring | gsub("[^a-z0-9_]"; "")) | join(", ")' <<<"$answer" 2>/dev/null)" ||
        failing="unknown"
      log "spawner answers but its dependencies do not (${failing:-unknown}); a restart cannot fix that, not restarting"
      return 0
      ;;
  esac
  [ -f "$file" ] && failures="$(cat "$file")"
  failures=$((failures + 1))
  if [ "$failures" -lt "$MAX_FAILURES" ]; then
    mkdir -p "$(dirname "$file")"
    echo "$failures" >"$file"
    log "health check failed: spawner ${state//[^a-z_ ]/} ($failures/$MAX_FAILURES)"
    return 0
  fi
  rm -f "$file"
  log "health check failed $MAX_FAILURES times in a row (spawner ${state//[^a-z_ ]/}), restarting openhands-team.service"
  systemctl restart openhands-team.service
}

# The spawner's figures as CloudWatch metrics (namespace OpenHandsTeam, dimension Deployment=<name>-<environment>,
# shown on the dashboard): people and sandboxes running now, and starts, culls, refusals and failures since the last
# run (the spawner's counters start at 0 with the spawner; a restart is seen by its uptime going down).
publish_spawner_metrics() {
  local stats last file data
  stats="$(curl -fsS --max-time 3 "$STATS_URL" 2>/dev/null)" || return 0
  file="$(host_path "$STATS_LAST_FILE")"
  last='{}'
  [ -f "$file" ] && last="$(cat "$file")"
  data="$(jq -c --argjson last "$last" --arg deployment "$(cfg .name)-$(cfg .environment)" '
    (if (($last.uptimeSeconds // -1) <= .uptimeSeconds) then $last else {} end) as $base
    | [{Name: "Deployment", Value: $deployment}] as $dims
    | [["RunningApps", .runningUsers, "Count"], ["StartingApps", (.startingUsers // 0), "Count"],
       ["RunningSandboxes", .runningSandboxes, "Count"]]
      + ([["Starts", "starts"], ["Culls", "culls"], ["Refusals", "refusals"], ["Failures", "failures"]]
         | map([.[0], ([0, ($stats[.[1]] - ($base[.[1]] // 0))] | max), "Count"]))
    | map({MetricName: .[0], Value: .[1], Unit: .[2], Dimensions: $dims})' --argjson stats "$stats" <<<"$stats" 2>/dev/null)" || {
    log "spawner stats unreadable; no metrics this time"
    return 0
  }
  if aws cloudwatch put-metric-data --region "$(cfg .region)" --namespace "$METRICS_NAMESPACE" --metric-data "$data" >/dev/null; then
    mkdir -p "$(dirname "$file")"
    printf '%s\n' "$stats" >"$file"
  else
    log "publishing the spawner's metrics failed; the next run tries again"
  fi
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
  [ -f "$(host_path "$HOST_CONFIG_FILE")" ] || return 0
  load_host_config_values
  publish_spawner_metrics
}

main "$@"
