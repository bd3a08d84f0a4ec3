# shellcheck shell=bash
# Step: the OpenResty configuration, rendered by the runtime proxy's own renderer (render.js from the
# bundle) inside the pinned Node image, with no network, whenever its settings or the proxy changed; in ECS mode,
# then, the DNS record that leads the apps' sandbox names to this host, before the proxy starts (90-services.sh).

PROXY_CONF_DIR="$OH_ETC/proxy"

render_proxy_config() {
  if [ -f "$(host_path "$PROXY_CONF_DIR/nginx.conf")" ] && ! changed "$OH_ETC/proxy-settings.json" &&
    ! changed "$OH_HOME/runtime-proxy/"; then
    return 0
  fi
  ensure_dir 0755 "$PROXY_CONF_DIR"
  docker run --rm --network none --read-only \
    -v "$OH_HOME/runtime-proxy:$OH_HOME/runtime-proxy:ro" \
    -v "$OH_ETC/proxy-settings.json:$OH_ETC/proxy-settings.json:ro" \
    -v "$PROXY_CONF_DIR:$PROXY_CONF_DIR" \
    "$(cfg .images.node | sed 's/@sha256:.*$//')" \
    node "$OH_HOME/runtime-proxy/render.js" --settings "$OH_ETC/proxy-settings.json" --out "$PROXY_CONF_DIR" >/dev/null ||
    die "the runtime proxy refused its settings ($OH_ETC/proxy-settings.json)"
  CHANGED_FILES+=("$PROXY_CONF_DIR/nginx.conf")
  log "rendered $PROXY_CONF_DIR/nginx.conf"
}

# ECS mode: the sandbox names the users' apps are told (`http://<p>-<slug>.<sandbox domain>`, docs/ecs.md) resolve,
# inside the VPC, through the private zone ecs.sandboxZoneId, to this host's private address, where the proxy serves
# them on port 80 (internalListen). The address changes with every replacement host, so every install UPSERTs the
# zone's one record, `*.<sandbox domain>` A <address> TTL 60: the only change the host role may make in the zone, and
# the same value again changes nothing. Without it no app reaches its sandboxes, so a failure stops the install.
publish_sandbox_record() {
  local zone domain address batch
  zone="$(cfg .ecs.sandboxZoneId)"
  domain="$(cfg .ecs.sandboxDomain)"
  address="$(instance_private_ipv4)"
  batch="$(jq -cn --arg name "*.$domain" --arg address "$address" '{
    Comment: "openhands-team: the sandbox names lead to the host",
    Changes: [{Action: "UPSERT", ResourceRecordSet: {Name: $name, Type: "A", TTL: 60, ResourceRecords: [{Value: $address}]}}]
  }')"
  retry 5 5 aws route53 change-resource-record-sets --hosted-zone-id "$zone" --change-batch "$batch" \
    --query ChangeInfo.Id --output text >/dev/null ||
    die "cannot point *.$domain at this host ($address) in the private hosted zone $zone (route53:ChangeResourceRecordSets);" \
      "the apps could not reach their sandboxes"
  log "*.$domain -> $address (zone $zone)"
}

step_proxy_config() {
  render_proxy_config
  if ecs_mode; then publish_sandbox_record; fi
}
