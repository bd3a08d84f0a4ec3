# shellcheck shell=bash
# Step: the firewall first, then Docker. oh-firewall.service runs before docker.service at every boot
# (so no container ever runs unfiltered); here the rules are also applied at once when they changed.

# Kernel settings the firewall and the port contract rely on, at every boot: bridged frames pass
# iptables (br_netfilter, so ICC off is enforced), routing on, and the ephemeral port range dockerd picks
# published ports from (docs/CONTRACTS.md: 32768-60999, the range the firewall opens to each app).
configure_kernel() {
  echo br_netfilter | write_file 0644 /etc/modules-load.d/openhands-team.conf
  printf '%s\n' \
    "# openhands-team: see /opt/openhands-team/host/firewall/oh-firewall.rules" \
    "net.bridge.bridge-nf-call-iptables = 1" \
    "net.bridge.bridge-nf-call-ip6tables = 1" \
    "net.ipv4.ip_forward = 1" \
    "net.ipv4.ip_local_port_range = 32768 60999" | write_file 0644 /etc/sysctl.d/90-openhands-team.conf
  if changed /etc/modules-load.d/openhands-team.conf; then
    modprobe br_netfilter
  fi
  if changed /etc/sysctl.d/90-openhands-team.conf; then
    sysctl -q --system >/dev/null
  fi
}

apply_firewall() {
  local firewall
  firewall="$(host_path "$OH_HOME/host/firewall/oh-firewall.sh")"
  if changed "$OH_HOME/host/firewall/" || changed "$FIREWALL_SETTINGS" || ! "$firewall" --check; then
    "$firewall" "$(host_path "$OH_HOME/host/firewall/oh-firewall.rules")" "$(host_path "$FIREWALL_SETTINGS")"
  fi
  systemctl is-enabled --quiet oh-firewall.service || systemctl enable oh-firewall.service
}

start_docker() {
  systemctl is-enabled --quiet docker.service || systemctl enable docker.service
  if ! systemctl is-active --quiet docker.service; then
    systemctl start docker.service
  elif changed /etc/docker/daemon.json; then
    # live-restore keeps the running containers through this restart
    systemctl restart docker.service
  fi
  retry 30 2 docker info --format '{{.ServerVersion}}' >/dev/null || die "Docker did not start"
}

step_docker() {
  configure_kernel
  apply_firewall
  start_docker
}
