#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine: pnpm and the Debian packages that the tests run
# for real (nginx with the Lua module, PostgreSQL, Chromium, a Docker engine and docker-py, shellcheck,
# cloud-init, docker-compose, wrk). The Docker engine is never started here: the tests start their own, in a
# network namespace of their own (packages/docker-lab).
set -euo pipefail

PNPM_VERSION=12.4.2
DEBIAN_PACKAGES=(
  nginx libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-cjson
  postgresql
  chromium
  docker.io python3-docker
  shellcheck cloud-init docker-compose
  iproute2 iptables jq unzip zip
  wrk hyperfine
  openssl
  luajit2
  lua-check
)

install_debian_packages() {
  local missing=()
  local pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "debian packages: all present"
    return
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "debian packages: installing ${missing[*]}"
  $sudo apt-get update -qq
  # Keep the packages' services (dockerd, containerd, PostgreSQL, nginx) from starting in the machine's own
  # network namespace: the tests start each one themselves, on loopback or in a lab namespace, and stop it by PID.
  local policy=/usr/sbin/policy-rc.d
  local had_policy=false
  [ -e "$policy" ] && had_policy=true
  if [ "$had_policy" = false ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
  fi
  local status=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
  [ "$had_policy" = true ] || $sudo rm -f "$policy"
  return "$status"
}

install_pnpm() {
  if [ "$(pnpm --version 2>/dev/null || true)" = "$PNPM_VERSION" ]; then
    echo "pnpm $PNPM_VERSION: present"
    return
  fi
  npm install -g --silent "pnpm@$PNPM_VERSION"
}

install_debian_packages
install_pnpm
