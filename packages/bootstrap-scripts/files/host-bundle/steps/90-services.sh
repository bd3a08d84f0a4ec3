# shellcheck shell=bash
# Step: the CloudWatch agent for the host's own logs, the stack (openhands-team.service owns the compose
# project: OpenResty, spawner, LLM gateway), the health watchdog, and a wait for the health endpoint
# the load balancer checks.

HEALTH_URL=http://127.0.0.1:8080/_oh/health

start_log_shipping() {
  if changed "$CLOUDWATCH_AGENT_CONFIG" || ! systemctl is-active --quiet amazon-cloudwatch-agent.service; then
    amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$CLOUDWATCH_AGENT_CONFIG" >/dev/null
  fi
}

start_stack() {
  unit_enabled_and_started oh-secrets.service
  systemctl is-enabled --quiet openhands-team.service || systemctl enable openhands-team.service
  if ! systemctl is-active --quiet openhands-team.service; then
    systemctl start openhands-team.service
  elif changed "$COMPOSE_DIR/" || changed "$OH_ETC/litellm.yaml" || changed "$OH_ETC/litellm/" || changed "$OH_ETC/proxy/" ||
    changed "$OH_HOME/spawner/" || changed "$OH_HOME/runtime-proxy/" || changed "$SPAWNER_CONFIG" ||
    changed /etc/systemd/system/openhands-team.service; then
    systemctl restart openhands-team.service
  fi
  unit_enabled_and_started oh-health.timer
  unit_enabled_and_started oh-secrets-refresh.timer
}

wait_for_health() {
  local n
  for n in $(seq 1 120); do
    if curl -fsS --max-time 3 "$HEALTH_URL" >/dev/null 2>&1; then
      log "healthy: $HEALTH_URL"
      return 0
    fi
    [ $((n % 15)) -eq 1 ] && log "waiting for $HEALTH_URL"
    sleep 5
  done
  die "$HEALTH_URL did not answer within 10 minutes"
}

step_services() {
  start_log_shipping
  start_stack
  wait_for_health
}
