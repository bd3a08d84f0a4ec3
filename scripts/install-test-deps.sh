#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine: pnpm and the Debian packages that the tests run
# for real (nginx with the Lua module, PostgreSQL, Chromium, shellcheck, cloud-init, docker-compose, wrk).
set -euo pipefail

PNPM_VERSION=12.4.2
DEBIAN_PACKAGES=(
  nginx libnginx-mod-http-lua lua-resty-core lua-resty-lrucache lua-cjson
  postgresql
  chromium
  shellcheck cloud-init docker-compose
  iproute2 iptables jq unzip zip
  wrk hyperfine
  openssl
  luajit2
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
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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
