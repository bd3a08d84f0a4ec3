#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR/..
# Step (also run alone at every boot by oh-secrets.service): secrets from Secrets Manager and SSM into
# root-only files on tmpfs. On the first boot of a deployment it also generates the secrets that have
# no value yet (docs/CONTRACTS.md, "Secrets"). Nothing secret is ever in user data or on a command line:
# values travel through 0600 files (`file://`) and stdin.

SECRET_KEYS=(identitySigningKey openhandsJwtSecret llmGatewayKey dbPasswordKey)
EDGE_PLACEHOLDER_FILTER='type == "object" and .unset == true'

# kebab identitySigningKey -> identity-signing-key (file names, request tokens)
kebab() {
  sed -E 's/([A-Z])/-\L\1/g' <<<"$1"
}

random_secret() {
  head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# secret_value ARN: the current value; empty when the secret has no value yet. Any other failure
# (access denied, throttling after retries) stops the step: generating a value then would replace a
# real one.
secret_value() {
  local arn="$1" err out rc=0
  err="$(mktemp)"
  out="$(aws secretsmanager get-secret-value --region "$OH_REGION" --secret-id "$arn" \
    --query SecretString --output text 2>"$err")" || rc=$?
  if [ "$rc" -ne 0 ]; then
    if grep -q ResourceNotFoundException "$err"; then
      rm -f "$err"
      return 0
    fi
    log "$(cat "$err")"
    rm -f "$err"
    die "cannot read secret $arn"
  fi
  rm -f "$err"
  printf '%s' "$out"
}

# A fixed client request token per secret: two hosts booting together send the same token, so Secrets
# Manager keeps the first value and refuses the second; both then read the winner's value.
generate_secret_value() {
  local key="$1" arn="$2" tmp
  tmp="$(mktemp "$(host_path "$SECRETS_DIR")/.new.XXXXXX")"
  random_secret >"$tmp"
  if aws secretsmanager put-secret-value --region "$OH_REGION" --secret-id "$arn" \
    --client-request-token "openhands-team-first-boot-$(kebab "$key")" \
    --secret-string "file://$tmp" >/dev/null 2>&1; then
    log "generated $key"
  else
    log "$key: another host stored a value first, using it"
  fi
  rm -f "$tmp"
}

# fetch_secret KEY ARN: value into $SECRETS_DIR/<kebab key>, generated first when it has none.
fetch_secret() {
  local key="$1" arn="$2" value
  value="$(secret_value "$arn")"
  if [ -z "$value" ]; then
    generate_secret_value "$key" "$arn"
    value="$(secret_value "$arn")"
    [ -n "$value" ] || die "secret $arn still has no value after generating one"
  fi
  printf '%s' "$value" | write_file 0600 "$SECRETS_DIR/$(kebab "$key")"
}

# The Aurora master secret is managed by RDS: JSON with username and password.
fetch_database_admin() {
  local arn value user password
  arn="$(cfg .database.masterSecretArn)"
  value="$(secret_value "$arn")"
  [ -n "$value" ] || die "database master secret $arn has no value (it is managed by RDS)"
  user="$(jq -er '.username | strings' <<<"$value" 2>/dev/null)" || die "database master secret $arn has no username"
  password="$(jq -er '.password | strings' <<<"$value" 2>/dev/null)" || die "database master secret $arn has no password"
  printf '%s' "$user" | write_file 0600 "$SECRETS_DIR/db-admin-user"
  printf '%s' "$password" | write_file 0600 "$SECRETS_DIR/db-admin-password"
}

# The issuer's JWKS rides in the edge secrets parameter (fields jwksUri and jwks), so that a cold edge
# function verifies a session with the one SSM call it makes anyway instead of downloading the JWKS
# second. Downloaded at every boot from the jwksUri of the edge config parameter (next to the secrets
# one); only public key fields are kept. The edge ignores a JWKS of another URI and still downloads the
# JWKS itself for a kid it lacks (key rotation), so anything failing here only costs a cold edge that
# second round trip: log it and carry on. Prints {"jwksUri": ..., "jwks": {"keys": [...]}} or nothing.
issuer_jwks() {
  local region="$1" secrets_name="$2" config_name config uri jwks
  [[ "$secrets_name" == */secrets ]] || return 0
  config_name="${secrets_name%/secrets}/config"
  if ! config="$(aws ssm get-parameter --region "$region" --name "$config_name" \
    --query Parameter.Value --output text 2>/dev/null)"; then
    log "cannot read $config_name; the edge downloads the issuer's JWKS itself"
    return 0
  fi
  # the edge config allows http only for a loopback test issuer; a host only ever fetches over https
  uri="$(jq -er '.jwksUri | strings | select(test("^https://[A-Za-z0-9.-]+(:[0-9]+)?/[!-~]*$"))' <<<"$config" 2>/dev/null)" || {
    log "$config_name has no https jwksUri; the edge downloads the issuer's JWKS itself"
    return 0
  }
  jwks="$(curl -fsS --proto '=https' --max-redirs 0 --max-time 10 --max-filesize 65536 "$uri" 2>/dev/null)" || {
    log "cannot download the issuer's JWKS from $uri; the edge downloads it itself"
    return 0
  }
  jq -ce --arg uri "$uri" '
    select(type == "object" and (.keys | type) == "array" and (.keys | length) >= 1 and (.keys | length) <= 20
      and all(.keys[]; type == "object" and (.kid | type) == "string" and (.kty | type) == "string"))
    | {jwksUri: $uri, jwks: {keys: [.keys[] | {kty, kid, alg, use, n, e, crv, x, y}
        | with_entries(select(.value | type == "string"))]}}' <<<"$jwks" 2>/dev/null || {
    log "the answer of $uri is not a JWKS; the edge downloads it itself"
    return 0
  }
}

# put_edge_secrets NAME REGION JSON: writes the SecureString through a 0600 file (never argv); a value
# over SSM's 4 KB standard-tier limit goes without the JWKS.
put_edge_secrets() {
  local name="$1" region="$2" value="$3" tmp
  if [ "${#value}" -gt 4096 ]; then
    log "the edge secrets with the issuer's JWKS exceed 4096 bytes; writing them without it"
    value="$(jq -c 'del(.jwksUri, .jwks)' <<<"$value")"
  fi
  tmp="$(mktemp "$(host_path "$SECRETS_DIR")/.edge.XXXXXX")"
  printf '%s' "$value" >"$tmp"
  aws ssm put-parameter --region "$region" --name "$name" --type SecureString --overwrite \
    --value "file://$tmp" >/dev/null || {
    rm -f "$tmp"
    die "cannot write the edge secrets parameter $name in $region"
  }
  rm -f "$tmp"
}

# The edge reads its keys from an SSM parameter in us-east-1. Terraform creates it with a placeholder;
# the first host fills it with the identity-signing key (the same value the proxy verifies with) and
# fresh ticket and nonce keys. The keys of a filled parameter are never changed (an operator may have
# rotated them); only its jwksUri/jwks fields follow the issuer, rewritten when they differ.
fill_edge_secrets() {
  local name region current identity jwks
  name="$(cfg .edgeSecretsParameter.name)"
  region="$(cfg .edgeSecretsParameter.region)"
  identity="$(cat "$(host_path "$SECRETS_DIR/identity-signing-key")")"
  # compute is applied before edge on a first deploy: a parameter that does not exist yet is not an error,
  # the watchdog fills it once the edge stack has created it (and no request can reach the host before that)
  if ! current="$(aws ssm get-parameter --region "$region" --name "$name" --with-decryption \
    --query Parameter.Value --output text 2>"$(host_path "$OH_RUN")/.edge-error")"; then
    if grep -q ParameterNotFound "$(host_path "$OH_RUN")/.edge-error"; then
      rm -f "$(host_path "$OH_RUN")/.edge-error"
      : >"$(host_path "$EDGE_SECRETS_PENDING")"
      log "the edge stack has not created $name yet; the watchdog fills it once it exists"
      return 0
    fi
    current="$(retry 3 5 aws ssm get-parameter --region "$region" --name "$name" --with-decryption \
      --query Parameter.Value --output text)" || die "cannot read the edge secrets parameter $name in $region"
  fi
  rm -f "$(host_path "$OH_RUN")/.edge-error" "$(host_path "$EDGE_SECRETS_PENDING")"
  jwks="$(issuer_jwks "$region" "$name")"
  [ -n "$jwks" ] || jwks='{}'
  if jq -e "$EDGE_PLACEHOLDER_FILTER" >/dev/null 2>&1 <<<"$current"; then
    put_edge_secrets "$name" "$region" "$(jq -cn --arg identity "$identity" --arg ticket "$(random_secret)" \
      --arg nonce "$(random_secret)" --argjson jwks "$jwks" \
      '{identitySigningKey: $identity, ticketKey: $ticket, nonceKey: $nonce} + $jwks')"
    log "filled the edge secrets parameter $name"
    return 0
  fi
  # a mismatch means every signed request would be refused by the proxy: say so loudly
  jq -e --arg identity "$identity" '.identitySigningKey == $identity' >/dev/null 2>&1 <<<"$current" ||
    log "WARNING: $name holds an identitySigningKey different from the identity-signing-key secret;" \
      "the proxy will refuse the edge's requests"
  # the issuer rotated its keys (or the parameter predates the JWKS): same keys, new JWKS
  if [ "$jwks" != '{}' ] && jq -e 'type == "object"' >/dev/null 2>&1 <<<"$current" &&
    ! jq -e --argjson jwks "$jwks" '{jwksUri, jwks} == $jwks' >/dev/null 2>&1 <<<"$current"; then
    put_edge_secrets "$name" "$region" "$(jq -c --argjson jwks "$jwks" '. + $jwks' <<<"$current")"
    log "stored the issuer's current JWKS in $name"
  fi
}

# LiteLLM requires keys that start with "sk-": the gateway's key is "sk-" + the secret, in LiteLLM's env
# file and in the file the spawner seeds every user's settings from.
write_llm_gateway_env() {
  local key
  key="sk-$(cat "$(host_path "$SECRETS_DIR/llm-gateway-key")")"
  printf '%s' "$key" | write_file 0600 "$SECRETS_DIR/llm-gateway-api-key"
  printf 'LITELLM_MASTER_KEY=%s\n' "$key" | write_file 0600 "$OH_RUN/llm-gateway.env"
}

# ECS mode: the host's private IPv4 address, where tasks in the VPC reach the relay, the LLM gateway, the sandbox API
# and the proxy. Read from the instance metadata service with IMDSv2 (a session token first; the token is no secret
# from this host, whose every process can ask for one). Retried: the metadata service can lag at first boot.
instance_private_ipv4() {
  local imds=http://169.254.169.254/latest token="" address="" n
  for n in 1 2 3 4 5; do
    if token="$(curl -fsS --max-time 2 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$imds/api/token")" &&
      address="$(curl -fsS --max-time 2 -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/local-ipv4")"; then
      break
    fi
    [ "$n" -lt 5 ] || die "cannot read the host's private IPv4 address from the instance metadata service (IMDSv2)"
    sleep 2
  done
  # the address reaches the spawner's configuration: anything but a private IPv4 address is refused
  [[ "$address" =~ ^(10\.[0-9]{1,3}|172\.(1[6-9]|2[0-9]|3[01])|192\.168)\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
    die "the instance metadata service gave \"$address\" as the host's private IPv4 address, which is not one"
  printf '%s' "$address"
}

# ECS mode: the spawner's sandbox API key secret (each user's OH_SANDBOX_API_KEY is an HMAC of their slug with it),
# derived like the gateway's key is from its secret rather than stored: HMAC-SHA256(db-password-key,
# "oh-sandbox-api-key-secret:v1") in base64url. The same value on every host and at every boot with no secret of its
# own to create, and it reveals nothing of the key it comes from. python3 comes with amazon-efs-utils (its mount
# helper is Python); the key is read from its file, never passed on a command line.
write_sandbox_api_key_secret() {
  # shellcheck disable=SC2016
  python3 -c '
import base64, hashlib, hmac, sys
key = open(sys.argv[1], "rb").read()
mac = hmac.new(key, b"oh-sandbox-api-key-secret:v1", hashlib.sha256).digest()
sys.stdout.write(base64.urlsafe_b64encode(mac).decode().rstrip("="))
' "$(host_path "$SECRETS_DIR/db-password-key")" | write_file 0600 "$SECRETS_DIR/sandbox-api-key-secret"
}

# The spawner's configuration (packages/spawner): every secret by reference to its file above. In ECS mode it also
# gets backend "ecs" and the ecs section (the host configuration's ecs values, the host's address, the key secret, the
# task log group its task definitions send logs to);
# the sandbox API listens on 8082, the port the infra's apps security group may reach on the host.
render_spawner_config() {
  local host_address=""
  if ecs_mode; then host_address="$(instance_private_ipv4)"; fi
  jq -S --arg secrets "$SECRETS_DIR" --arg efs "$EFS_MOUNT_DIR" --arg api "$DOCKER_API_DIR" \
    --arg subnetPrefix "$USER_SUBNET_PREFIX" --argjson appPort "$APP_PORT" --arg hostAddress "$host_address" \
    --arg adminUser "$(cat "$(host_path "$SECRETS_DIR/db-admin-user")")" '{
    version: 1,
    api: {host: "127.0.0.1", port: 8081},
    appHost: .appHost,
    runtimeDomain: .runtimeDomain,
    region: .region,
    eventsBucket: .eventsBucket,
    docker: {socketPath: "/var/run/docker.sock"},
    images: {app: (.images.app | sub("@sha256:.*$"; "")), agentServer: (.images.agentServer | sub("@sha256:.*$"; ""))},
    network: {subnetPrefix: $subnetPrefix, appPort: $appPort, relayPort: 3000, llmGatewayPort: 4000},
    paths: {efsRoot: $efs, dockerApiDir: $api},
    database: {
      host: .database.host,
      port: .database.port,
      adminUser: $adminUser,
      adminPassword: {file: ($secrets + "/db-admin-password")}
    },
    secrets: {
      dbPasswordKey: {file: ($secrets + "/db-password-key")},
      openhandsJwtSecret: {file: ($secrets + "/openhands-jwt-secret")},
      llmGatewayKey: {file: ($secrets + "/llm-gateway-api-key")}
    },
    llm: {model: .bedrock.models[0]},
    users: .users
  } + (if .ecs == null then {} else {
    backend: "ecs",
    ecs: {
      region: .ecs.region,
      cluster: .ecs.cluster,
      subnets: .ecs.subnets,
      appSecurityGroup: .ecs.appSecurityGroup,
      sandboxSecurityGroup: .ecs.sandboxSecurityGroup,
      executionRoleArn: .ecs.executionRoleArn,
      efsFileSystemId: .ecs.fileSystemId,
      hostPrivateAddress: $hostAddress,
      sandboxApiPort: 8082,
      sandboxApiKeySecret: {file: ($secrets + "/sandbox-api-key-secret")},
      sandboxDomain: .ecs.sandboxDomain,
      taskLogGroup: .ecs.taskLogGroup,
      userResources: {
        deployment: .ecs.deployment,
        appRoleBoundaryArn: .ecs.appRoleBoundaryArn,
        appRolePath: .ecs.appRolePath,
        sandboxRoleBoundaryArn: .ecs.sandboxRoleBoundaryArn,
        sandboxRolePath: .ecs.sandboxRolePath,
        userSecretPrefix: .ecs.userSecretPrefix
      }
    }
  } end)' "$(host_path "$HOST_CONFIG_FILE")" | write_file 0600 "$SPAWNER_CONFIG"
}

step_secrets() {
  local key
  ensure_dir 0755 "$OH_RUN"
  ensure_dir 0700 "$SECRETS_DIR"
  for key in "${SECRET_KEYS[@]}"; do
    fetch_secret "$key" "$(cfg ".secrets.$key")"
  done
  fetch_database_admin
  fill_edge_secrets
  write_llm_gateway_env
  if ecs_mode; then write_sandbox_api_key_secret; fi
  render_spawner_config
}

# Run alone (oh-secrets.service): oh-secrets.sh sets OH_REGION from the host configuration.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  export OH_STEP=secrets
  # shellcheck source=lib/common.sh
  source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
  load_host_config_values
  OH_REGION="$(cfg .region)"
  step_secrets
fi
