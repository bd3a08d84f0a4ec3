# shellcheck shell=bash
# Step: the firewall first, then Docker. oh-firewall.service runs before docker.service at every boot
# (so no container ever runs unfiltered); here the rules are also applied at once when they changed.

apply_firewall() {
  if changed "$OH_HOME/host/firewall/" || ! iptables -w -C INPUT -j OH-INPUT 2>/dev/null; then
    "$(host_path "$OH_HOME/host/firewall/oh-firewall.sh")" "$(host_path "$OH_HOME/host/firewall/oh-firewall.rules")"
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
  apply_firewall
  start_docker
}
