# shellcheck shell=bash
# Step: every file of the host, rendered from the bundle and the host configuration: the bundle's own
# programs under /opt/openhands-team, Docker's daemon.json, the compose project, the LLM gateway's
# model list, the firewall's, the proxy's and the spawner's settings, the CloudWatch agent's log list, systemd units.

CLOUDWATCH_AGENT_CONFIG="$OH_ETC/cloudwatch-agent.json"

# sync_dir SOURCE TARGET: TARGET becomes a copy of SOURCE (modes 0755/0644), stale files removed.
sync_dir() {
  local source="$1" target="$2" file rel
  [ -d "$source" ] || die "bundle is incomplete: $source is missing"
  while IFS= read -r -d '' file; do
    rel="${file#"$source"/}"
    if [ -x "$file" ]; then copy_file 0755 "$file" "$target/$rel"; else copy_file 0644 "$file" "$target/$rel"; fi
  done < <(find "$source" -type f -print0 | sort -z)
  while IFS= read -r -d '' file; do
    rel="${file#"$OH_ROOT$target"/}"
    if [ ! -e "$source/$rel" ]; then
      rm -f "$file"
      CHANGED_FILES+=("$target/$rel")
      log "removed stale $target/$rel"
    fi
  done < <(find "$OH_ROOT$target" -type f -print0 | sort -z)
}

install_bundle_programs() {
  ensure_dir 0755 "$OH_HOME"
  sync_dir "$BUNDLE_DIR/firewall" "$OH_HOME/host/firewall"
  sync_dir "$BUNDLE_DIR/bin" "$OH_HOME/host/bin"
  sync_dir "$BUNDLE_DIR/lib" "$OH_HOME/host/lib"
  sync_dir "$BUNDLE_DIR/steps" "$OH_HOME/host/steps"
  [ -f "$BUNDLE_DIR/spawner/spawner.js" ] || die "bundle is incomplete: spawner/spawner.js is missing"
  sync_dir "$BUNDLE_DIR/spawner" "$OH_HOME/spawner"
  [ -f "$BUNDLE_DIR/runtime-proxy/render.js" ] || die "bundle is incomplete: runtime-proxy/render.js is missing"
  sync_dir "$BUNDLE_DIR/runtime-proxy" "$OH_HOME/runtime-proxy"
}

# The deployment's values the firewall needs (oh-firewall.sh reads them at every boot, before the network is
# up, so they live on disk): the VPC's CIDRs (nothing from a user bridge reaches them but the app's database
# connections and DNS) and Aurora's port; in ECS mode also the task subnets' CIDRs (only they reach the relay, the
# LLM gateway, the sandbox API and the proxy's sandbox names). Validated by 20-host-config and again by oh-firewall.sh.
render_firewall_settings() {
  {
    echo "# openhands-team firewall settings, rendered from the host configuration (network.vpcCidrs, database.port)"
    echo "VPC_CIDRS=$(jq -r '.network.vpcCidrs | join(" ")' "$(host_path "$HOST_CONFIG_FILE")")"
    echo "DATABASE_PORT=$(cfg .database.port)"
    if ecs_mode; then
      echo "# ECS mode: the task subnets (ecs.subnetCidrs)"
      echo "TASK_CIDRS=$(jq -r '.ecs.subnetCidrs | join(" ")' "$(host_path "$HOST_CONFIG_FILE")")"
    fi
  } | write_file 0644 "$FIREWALL_SETTINGS"
}

# The userland proxy stays on: the apps reach their sandboxes' published ports on their own gateway
# through docker-proxy (INPUT), which the firewall allows from the app's fixed address only. Every
# container logs to CloudWatch (users' apps and sandboxes to the apps group unless the service says
# otherwise); live-restore keeps containers running while dockerd restarts.
render_docker_daemon_config() {
  jq -n --arg region "$(cfg .region)" --arg group "$(cfg .logGroups.apps)" '{
    "userland-proxy": true,
    "iptables": true,
    "ip-forward": true,
    "icc": false,
    "live-restore": true,
    "log-driver": "awslogs",
    "log-opts": {
      "awslogs-region": $region,
      "awslogs-group": $group,
      "awslogs-create-group": "false",
      "tag": "{{.Name}}",
      "mode": "non-blocking",
      "max-buffer-size": "4m"
    }
  }' | write_file 0644 /etc/docker/daemon.json
}

render_compose_project() {
  copy_file 0644 "$BUNDLE_DIR/compose/compose.yaml" "$COMPOSE_DIR/compose.yaml"
  {
    echo "# Interpolation values of compose.yaml, rendered from the host configuration. No secrets here."
    echo "OH_REGION=$(cfg .region)"
    echo "OH_IMAGE_OPENRESTY=$(cfg .images.openresty)"
    echo "OH_IMAGE_NODE=$(cfg .images.node)"
    echo "OH_IMAGE_LLM_GATEWAY=$(cfg .images.llmGateway)"
    echo "OH_LOG_GROUP_HOST=$(cfg .logGroups.host)"
    echo "OH_LOG_GROUP_PROXY=$(cfg .logGroups.proxy)"
    echo "OH_LOG_GROUP_SPAWNER=$(cfg .logGroups.spawner)"
    echo "OH_HOME=$OH_HOME"
    echo "OH_ETC=$OH_ETC"
    echo "OH_RUN_DIR=$OH_RUN"
    echo "OH_SECRETS_DIR=$SECRETS_DIR"
    echo "OH_EFS_ROOT=$EFS_MOUNT_DIR"
    echo "OH_DOCKER_API_DIR=$DOCKER_API_DIR"
    echo "OH_PROXY_RUN_DIR=$PROXY_RUN_DIR"
    echo "OH_EDGE_CONFIG_PARAMETER=$(edge_config_parameter)"
    echo "OH_EDGE_REGION=$(cfg .edgeSecretsParameter.region)"
    echo "OH_LLM_REQUESTS_PER_MINUTE=$(cfg_or_empty .bedrock.perUser.requestsPerMinute)"
    echo "OH_LLM_TOKENS_PER_MINUTE=$(cfg_or_empty .bedrock.perUser.tokensPerMinute)"
    echo "OH_LLM_MONTHLY_SPEND_ALERT_USD=$(cfg_or_empty .bedrock.perUser.monthlySpendAlertUsd)"
  } | write_file 0600 "$COMPOSE_DIR/.env"
}

# The edge configuration parameter sits next to the edge secrets one (/<name>/<env>/edge/config); the LLM
# gateway's hook reads the user pool's id there.
edge_config_parameter() {
  local secrets
  secrets="$(cfg .edgeSecretsParameter.name)"
  printf '%s' "${secrets%/secrets}/config"
}

# An optional number of the host configuration, or nothing (20-host-config checked its shape).
cfg_or_empty() {
  jq -r "($1 // \"\") | tostring" "$(host_path "$HOST_CONFIG_FILE")"
}

# LiteLLM: one route per configured Bedrock model (the model id is the name clients ask for), Bedrock
# reached with the instance role through boto3's default chain; the master key comes from the env file. The
# custom-auth hook and the usage callback live in oh_llm_gateway.py next to the configuration (LiteLLM loads
# "module.name" from the configuration's folder); the month's spend per person is kept on EFS.
render_llm_gateway_config() {
  ensure_dir 0755 "$OH_ETC/litellm"
  copy_file 0644 "$BUNDLE_DIR/llm-gateway/oh_llm_gateway.py" "$OH_ETC/litellm/oh_llm_gateway.py"
  ensure_dir 0700 "$EFS_MOUNT_DIR/llm-gateway"
  jq -r --arg region "$(cfg .bedrock.region)" '
    "# LiteLLM configuration, rendered from the host configuration (bedrock.models).",
    "model_list:",
    (.bedrock.models[]
      | "  - model_name: \"\(.)\"", "    litellm_params:", "      model: \"bedrock/\(.)\"", "      aws_region_name: \"\($region)\""),
    "litellm_settings:",
    "  drop_params: true",
    "  callbacks: [\"oh_llm_gateway.usage_logger\"]",
    "general_settings:",
    "  master_key: os.environ/LITELLM_MASTER_KEY",
    "  custom_auth: oh_llm_gateway.user_api_key_auth"
  ' "$(host_path "$HOST_CONFIG_FILE")" | write_file 0644 "$OH_ETC/litellm.yaml"
}

# Settings of the runtime proxy's renderer (packages/runtime-proxy); paths are the same inside the
# OpenResty container, which mounts them at the same places. In ECS mode the proxy also gets taskSubnets (the task
# subnets' CIDRs): it then routes to app and sandbox tasks only inside them; and sandboxDomain with internalListen (the
# host's private address, port 80), where it serves the apps the internal sandbox names that the private zone resolves
# to this host (80-proxy-config.sh writes the record). Docker mode renders none of these keys.
render_proxy_settings() {
  local task_subnets=null internal=null
  if ecs_mode; then
    task_subnets="$(jq -c '.ecs.subnetCidrs' "$(host_path "$HOST_CONFIG_FILE")")"
    internal="$(jq -cn --arg domain "$(cfg .ecs.sandboxDomain)" --arg address "$(instance_private_ipv4)" \
      '{sandboxDomain: $domain, internalListen: ($address + ":80")}')"
  fi
  jq -n --arg appHost "$(cfg .appHost)" --arg runtimeDomain "$(cfg .runtimeDomain)" \
    --arg key "$SECRETS_DIR/identity-signing-key" --arg lua "$OH_HOME/runtime-proxy/lua" --arg run "$PROXY_RUN_DIR" \
    --arg subnetPrefix "$USER_SUBNET_PREFIX" --argjson appPort "$APP_PORT" --argjson taskSubnets "$task_subnets" \
    --argjson internal "$internal" '{
    appHost: $appHost,
    runtimeDomain: $runtimeDomain,
    userSubnetPrefix: $subnetPrefix,
    appPort: $appPort,
    listen: {address: "0.0.0.0", port: 8080},
    spawnerUrl: "http://127.0.0.1:8081",
    identityKeyFile: $key,
    luaDir: $lua,
    runDir: $run,
    errorLog: "stderr",
    accessLog: "/dev/stdout"
  } + (if $taskSubnets == null then {} else {taskSubnets: $taskSubnets} end) + ($internal // {})' |
    write_file 0644 "$OH_ETC/proxy-settings.json"
}

# Host logs, and the memory and disk figures the monitoring stack's alarms watch (namespace CWAgent,
# mem_used_percent by AutoScalingGroupName, disk_used_percent by AutoScalingGroupName and path for the Docker
# volume): published rolled up to exactly those dimensions, so a replacement host feeds the same alarms.
render_cloudwatch_agent_config() {
  jq -n --arg group "$(cfg .logGroups.host)" --arg dir "$OH_LOG_DIR" '{
    agent: {run_as_user: "root", metrics_collection_interval: 60},
    metrics: {
      namespace: "CWAgent",
      append_dimensions: {AutoScalingGroupName: "${aws:AutoScalingGroupName}"},
      aggregation_dimensions: [["AutoScalingGroupName"], ["AutoScalingGroupName", "path"]],
      metrics_collected: {
        mem: {measurement: ["mem_used_percent"]},
        disk: {measurement: ["used_percent"], resources: ["/", "/var/lib/docker"], drop_device: true}
      }
    },
    logs: {logs_collected: {files: {collect_list: [
      {file_path: ($dir + "/*.log"), log_group_name: $group, log_stream_name: "{instance_id}/openhands-team"},
      {file_path: "/var/log/cloud-init-output.log", log_group_name: $group, log_stream_name: "{instance_id}/cloud-init"}
    ]}}}
  }' | write_file 0644 "$CLOUDWATCH_AGENT_CONFIG"
}

install_systemd_units() {
  local unit
  for unit in "$BUNDLE_DIR"/systemd/*; do
    copy_file 0644 "$unit" "/etc/systemd/system/$(basename "$unit")"
  done
  if changed /etc/systemd/system/; then
    systemctl daemon-reload
  fi
}

step_files() {
  ensure_dir 0755 "$OH_LOG_DIR"
  install_bundle_programs
  render_firewall_settings
  render_docker_daemon_config
  render_compose_project
  render_llm_gateway_config
  render_proxy_settings
  render_cloudwatch_agent_config
  install_systemd_units
}
