# shellcheck shell=bash
# Step: the OpenResty configuration, rendered by the runtime proxy's own renderer (render.js from the
# bundle) inside the pinned Node image, with no network, whenever its settings or the proxy changed.

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

step_proxy_config() {
  render_proxy_config
}
