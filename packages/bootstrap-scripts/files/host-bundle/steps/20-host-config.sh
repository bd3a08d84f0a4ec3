# shellcheck shell=bash
# Step: the host configuration (docs/CONTRACTS.md, "Host configuration"), read from its SSM parameter
# and validated before any value reaches a file on the host.

fetch_host_config() {
  local tmp
  ensure_dir 0755 "$OH_ETC"
  tmp="$(mktemp)"
  retry 5 5 aws ssm get-parameter --region "$OH_REGION" --name "$OH_HOST_CONFIG_PARAMETER" \
    --query Parameter.Value --output text >"$tmp" || {
    rm -f "$tmp"
    die "cannot read the host configuration parameter $OH_HOST_CONFIG_PARAMETER in $OH_REGION"
  }
  jq -e 'type == "object"' "$tmp" >/dev/null 2>&1 || {
    rm -f "$tmp"
    die "host configuration $OH_HOST_CONFIG_PARAMETER is not a JSON object"
  }
  jq -S . "$tmp" | write_file 0644 "$HOST_CONFIG_FILE"
  rm -f "$tmp"
}

# check_field FILTER REGEX EXPECTED: the value must match; the message names the field, the value and
# what is expected.
check_field() {
  local value
  value="$(jq -r "$1 // \"\"" "$(host_path "$HOST_CONFIG_FILE")")"
  [[ "$value" =~ $2 ]] || die "host configuration $1: \"$value\" is not $3"
}

# Values end up in fstab, env files, YAML and command lines: anything outside these shapes is refused,
# which also stops configuration injection (a newline or quote in a value adding its own lines).
validate_host_config() {
  local name='^[a-z0-9][a-z0-9-]{0,62}$'
  local dns='^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
  local image='^[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?$'
  local arn='^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:[A-Za-z0-9/_+=.@:!-]+$'
  local region='^[a-z]{2}(-[a-z]+)+-[0-9]$'
  local loggroup='^[A-Za-z0-9_./#-]{1,512}$'
  check_field '.version | tostring' '^1$' "1 (the only version this bundle reads)"
  check_field .name "$name" "a lower-case name"
  check_field .environment "$name" "a lower-case name"
  check_field .region "$region" "an AWS region such as eu-central-1"
  check_field .appHost "$dns" "a lower-case DNS name"
  check_field .runtimeDomain "$dns" "a lower-case DNS name"
  check_field .efsFileSystemId '^fs-[0-9a-f]{8,17}$' "an EFS file system id (fs- and 8 or 17 hex digits)"
  check_field .eventsBucket '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' "an S3 bucket name"
  check_field .database.host "$dns" "a DNS name"
  check_field '.database.port | tostring' '^[1-9][0-9]{0,4}$' "a TCP port"
  check_field .database.masterSecretArn "$arn" "a Secrets Manager ARN"
  local key
  for key in identitySigningKey openhandsJwtSecret llmGatewayKey dbPasswordKey; do
    check_field ".secrets.$key" "$arn" "a Secrets Manager ARN"
  done
  check_field .edgeSecretsParameter.name '^/[A-Za-z0-9_./-]+$' "an SSM parameter name"
  check_field .edgeSecretsParameter.region "$region" "an AWS region"
  for key in app agentServer openresty llmGateway node; do
    check_field ".images.$key" "$image" "an image <repository>:<tag> (optionally @sha256:<digest>)"
  done
  check_field .bedrock.region "$region" "an AWS region"
  check_field '.bedrock.models | length | tostring' '^[1-9][0-9]*$' "a non-empty list of model ids"
  jq -e '.bedrock.models | all(type == "string" and test("^[A-Za-z0-9][A-Za-z0-9.:_/-]{0,199}$"))' \
    "$(host_path "$HOST_CONFIG_FILE")" >/dev/null || die "host configuration .bedrock.models: every entry must be a Bedrock model or inference-profile id"
  for key in idleMinutes maxRunningApps maxRunningSandboxes sandboxesPerUser; do
    check_field ".users.$key | tostring" '^[1-9][0-9]{0,5}$' "a positive whole number"
  done
  for key in host proxy spawner apps; do
    check_field ".logGroups.$key" "$loggroup" "a CloudWatch log group name"
  done
}

step_host_config() {
  fetch_host_config
  validate_host_config
}
