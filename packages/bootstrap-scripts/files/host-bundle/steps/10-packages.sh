# shellcheck shell=bash
# Step: operating-system packages (Docker engine, EFS mount helper, jq, CloudWatch agent) and the
# Docker Compose plugin, pinned by checksum.

OS_PACKAGES=(docker amazon-efs-utils jq amazon-cloudwatch-agent)
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose

install_os_packages() {
  local missing=() pkg
  for pkg in "${OS_PACKAGES[@]}"; do
    rpm -q --quiet "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  log "installing ${missing[*]}"
  retry 5 10 dnf install -y -q "${missing[@]}"
}

# The plugin is replaced only when missing or when its checksum is not the pinned one (tampering or an
# interrupted download).
install_compose_plugin() {
  local target tmp
  target="$(host_path "$COMPOSE_PLUGIN")"
  if [ -x "$target" ] && echo "$COMPOSE_SHA256  $target" | sha256sum -c --status -; then
    return 0
  fi
  mkdir -p "$(dirname "$target")"
  tmp="$(mktemp "$target.XXXXXX")"
  retry 5 10 curl -fsSL --proto '=https' -o "$tmp" "$COMPOSE_URL" || die "cannot download the compose plugin from $COMPOSE_URL"
  # supply-chain tampering: never install a download whose checksum is not the pinned one
  echo "$COMPOSE_SHA256  $tmp" | sha256sum -c --status - || {
    rm -f "$tmp"
    die "compose plugin checksum mismatch for $COMPOSE_URL (expected $COMPOSE_SHA256)"
  }
  chmod 0755 "$tmp"
  mv -f "$tmp" "$target"
  log "installed docker compose $COMPOSE_VERSION"
}

step_packages() {
  install_os_packages
  install_compose_plugin
}
