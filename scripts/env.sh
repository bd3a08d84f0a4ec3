# Environment for every command of this repository (sourced by .ci/run; source it in your shell too).
# Offline-clean Terraform and CDKTF, no telemetry, and no probing of the EC2 metadata service.
_repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CHECKPOINT_DISABLE=1
export DISABLE_VERSION_CHECK=true
export CDKTF_DISABLE_PLUGIN_CACHE_ENV=true
export TURBO_TELEMETRY_DISABLED=1
export AWS_EC2_METADATA_DISABLED=true
export TF_CLI_CONFIG_FILE="$_repo_root/infra/terraformrc"
unset _repo_root
