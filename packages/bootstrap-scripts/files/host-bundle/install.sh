#!/usr/bin/env bash
# Host installer of openhands-team: from a bare Amazon Linux 2023 (arm64) instance to the running stack.
#
#   install.sh --region <main region> --host-config-parameter </name/env/host/config>
#
# Run by the user data on first boot, from the unpacked host bundle. Every step is idempotent: running
# it again on the same host changes nothing, and a replacement host reaches the same state from EFS,
# Aurora, S3 and the parameters. The whole run is logged to /var/log/openhands-team/install.log.
# OH_ROOT (default empty) prefixes every host path, for dry runs against stub commands.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

BUNDLE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "$BUNDLE_DIR/lib/common.sh"
# shellcheck source=versions.env
source "$BUNDLE_DIR/versions.env"
for step_file in "$BUNDLE_DIR"/steps/*.sh; do
  # shellcheck source=/dev/null
  source "$step_file"
done

STEPS=(packages host_config storage files secrets docker images proxy_config services)

usage() {
  echo "usage: install.sh --region <region> --host-config-parameter <ssm parameter name>" >&2
  exit 2
}

parse_args() {
  OH_REGION=""
  OH_HOST_CONFIG_PARAMETER=""
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --region) OH_REGION="${2:-}" && shift 2 ;;
      --host-config-parameter) OH_HOST_CONFIG_PARAMETER="${2:-}" && shift 2 ;;
      *) usage ;;
    esac
  done
  # both values reach aws command lines: refuse anything but their documented shapes
  [[ "$OH_REGION" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]$ ]] || die "--region: \"$OH_REGION\" is not an AWS region such as eu-central-1"
  [[ "$OH_HOST_CONFIG_PARAMETER" =~ ^/[A-Za-z0-9_./-]+$ ]] ||
    die "--host-config-parameter: \"$OH_HOST_CONFIG_PARAMETER\" is not an SSM parameter name such as /openhands/prod/host/config"
}

main() {
  parse_args "$@"
  [ "$(id -u)" -eq 0 ] || die "install.sh must run as root"
  ensure_dir 0755 "$OH_LOG_DIR"
  exec 2> >(tee -a "$(host_path "$OH_LOG_DIR/install.log")" >&2)
  log "installing from $BUNDLE_DIR (bundle $(cat "$BUNDLE_DIR/BUNDLE_ID" 2>/dev/null || echo unknown))"
  local step
  for step in "${STEPS[@]}"; do
    OH_STEP="$step"
    "step_$step"
  done
  OH_STEP=install
  log "done: ${#CHANGED_FILES[@]} file(s) changed"
}

main "$@"
