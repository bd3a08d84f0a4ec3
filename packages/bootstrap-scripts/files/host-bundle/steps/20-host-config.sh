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

# Values end up in fstab, env files, YAML and command lines: anything outside these shapes is refused,
# which also stops configuration injection (a newline or quote in a value adding lines of its own).
# Every problem is listed, each naming the field, its value and what is expected.
# jq program (its $names are jq's), \A and \z anchor the whole value: a trailing newline fails too.
# shellcheck disable=SC2016
HOST_CONFIG_CHECKS='
  def name: "\\A[a-z0-9][a-z0-9-]{0,62}\\z";
  def dns: "\\A([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\z";
  def image: "\\A[a-z0-9][a-z0-9._/:-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?\\z";
  def arn: "\\Aarn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:[A-Za-z0-9/_+=.@:!-]+\\z";
  def role: "\\Aarn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}\\z";
  def region: "\\A[a-z]{2}(-[a-z]+)+-[0-9]\\z";
  def loggroup: "\\A[A-Za-z0-9_./#-]{1,512}\\z";
  def count: "\\A[1-9][0-9]{0,5}\\z";
  def usd: "\\A(0|[1-9][0-9]{0,6})(\\.[0-9]{1,2})?\\z";
  def tokens: "\\A[1-9][0-9]{0,8}\\z";
  def octet: "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
  def cidr: "\\A(\(octet)\\.){3}\(octet)/([89]|[12][0-9]|3[0-2])\\z";
  # a task subnet: RFC 1918 (10/8, 172.16/12, 192.168/16), /16 to /28 (what the runtime proxy accepts as taskSubnets)
  def taskcidr: "\\A(10\\.\(octet)|172\\.(1[6-9]|2[0-9]|3[01])|192\\.168)\\.\(octet)\\.\(octet)/(1[6-9]|2[0-8])\\z";
  # a valid CIDR as {first, size} (numbers), and whether one lies inside another
  def block: split("/") as $p | ($p[0] | split(".") | map(tonumber) | ((.[0] * 256 + .[1]) * 256 + .[2]) * 256 + .[3]) as $n
    | pow(2; 32 - ($p[1] | tonumber)) as $size | {first: $n, size: $size, base: (($n / $size | floor) * $size)};
  def inside($outer): block as $in | ($outer | block) as $out | $in.first >= $out.base and $in.first + $in.size <= $out.base + $out.size;
  def check(path; re; what):
    (getpath(path) // "" | tostring) as $v
    | if $v | test(re) then empty else "\(path | map(tostring) | join(".")): \"\($v)\" is not \(what)" end;
  check(["version"]; "\\A1\\z"; "1 (the only version this bundle reads)"),
  check(["name"]; name; "a lower-case name"),
  check(["environment"]; name; "a lower-case name"),
  check(["region"]; region; "an AWS region such as eu-central-1"),
  check(["appHost"]; dns; "a lower-case DNS name"),
  check(["runtimeDomain"]; dns; "a lower-case DNS name"),
  check(["efsFileSystemId"]; "\\Afs-[0-9a-f]{8,17}\\z"; "an EFS file system id (fs- and 8 or 17 hex digits)"),
  check(["eventsBucket"]; "\\A[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\\z"; "an S3 bucket name"),
  check(["database", "host"]; dns; "a DNS name"),
  check(["database", "port"]; "\\A[1-9][0-9]{0,4}\\z"; "a TCP port"),
  check(["database", "masterSecretArn"]; arn; "a Secrets Manager ARN"),
  (if (.network.vpcCidrs | type) == "array" and (.network.vpcCidrs | length) > 0 then
     (range(.network.vpcCidrs | length) as $i | check(["network", "vpcCidrs", $i]; cidr; "an IPv4 CIDR such as 10.0.0.0/16"))
   else "network.vpcCidrs: \(.network.vpcCidrs | tojson) is not a non-empty list of the IPv4 CIDRs of the VPC (the primary first)" end),
  (("identitySigningKey", "openhandsJwtSecret", "llmGatewayKey", "dbPasswordKey") as $k
   | check(["secrets", $k]; arn; "a Secrets Manager ARN")),
  check(["edgeSecretsParameter", "name"]; "\\A/[A-Za-z0-9_./-]+\\z"; "an SSM parameter name"),
  check(["edgeSecretsParameter", "region"]; region; "an AWS region"),
  (("app", "agentServer", "openresty", "llmGateway", "node") as $k
   | check(["images", $k]; image; "an image <repository>:<tag>, optionally @sha256:<digest>")),
  check(["bedrock", "region"]; region; "an AWS region"),
  (if (.bedrock.models | type) == "array" and (.bedrock.models | length) > 0 then
     (range(.bedrock.models | length) as $i
      | check(["bedrock", "models", $i]; "\\A[A-Za-z0-9][A-Za-z0-9.:_/-]{0,199}\\z"; "a Bedrock model or inference-profile id"))
   else "bedrock.models: \(.bedrock.models | tojson) is not a non-empty list of model ids" end),
  (select(.bedrock.perUser.requestsPerMinute? != null)
   | check(["bedrock", "perUser", "requestsPerMinute"]; count; "a positive whole number, or left out for no limit")),
  (select(.bedrock.perUser.tokensPerMinute? != null)
   | check(["bedrock", "perUser", "tokensPerMinute"]; tokens; "a positive whole number, or left out for no limit")),
  (select(.bedrock.perUser.monthlySpendAlertUsd? != null)
   | check(["bedrock", "perUser", "monthlySpendAlertUsd"]; usd; "an amount in US dollars such as 50 or 12.5, or left out for no alert")),
  (("idleMinutes", "maxRunningApps", "maxRunningSandboxes", "sandboxesPerUser") as $k
   | check(["users", $k]; count; "a positive whole number")),
  (("host", "proxy", "spawner", "apps") as $k | check(["logGroups", $k]; loggroup; "a CloudWatch log group name")),
  # ECS mode only (contracts HostEcsConfiguration): every field reaches the spawner configuration or /etc/fstab
  (select(.ecs != null) | if (.ecs | type) != "object" then "ecs: \(.ecs | tojson) is not an object (the ECS mode settings)" else
    check(["ecs", "region"]; region; "an AWS region"),
    check(["ecs", "cluster"]; "\\A[A-Za-z0-9_-]{1,255}\\z"; "an ECS cluster name"),
    (if (.ecs.subnets | type) == "array" and (.ecs.subnets | length) > 0 and (.ecs.subnets | length) <= 16 then
       (range(.ecs.subnets | length) as $i | check(["ecs", "subnets", $i]; "\\Asubnet-[0-9a-f]{8,17}\\z"; "a subnet id"))
     else "ecs.subnets: \(.ecs.subnets | tojson) is not a list of 1 to 16 subnet ids" end),
    # the proxy routes to tasks and the firewall opens the task doors only inside these: never outside the VPC
    (if (.ecs.subnetCidrs | type) == "array"
        and (.ecs.subnetCidrs | length) == (.ecs.subnets | if type == "array" then length else -1 end) then
       [.network.vpcCidrs[]? | strings | select(test(cidr))] as $vpc
       | range(.ecs.subnetCidrs | length) as $i | (.ecs.subnetCidrs[$i] | tostring) as $v
       | if ($v | test(taskcidr) | not) then
           "ecs.subnetCidrs.\($i): \"\($v)\" is not a private IPv4 CIDR from /16 to /28 (RFC 1918, such as 10.0.128.0/20)"
         elif ($v | block | .first != .base) then
           "ecs.subnetCidrs.\($i): \"\($v)\" is not the network address of a subnet (host bits set; such as 10.0.128.0/20)"
         elif ([$vpc[] as $outer | $v | inside($outer)] | any | not) then
           "ecs.subnetCidrs.\($i): \"\($v)\" lies outside the VPC (network.vpcCidrs)"
         else empty end
     else "ecs.subnetCidrs: \(.ecs.subnetCidrs | tojson) is not the list of the IPv4 CIDRs of ecs.subnets (one per subnet, in order)" end),
    (("appSecurityGroup", "sandboxSecurityGroup") as $k | check(["ecs", $k]; "\\Asg-[0-9a-f]{8,17}\\z"; "a security group id")),
    check(["ecs", "executionRoleArn"]; role; "an IAM role ARN"),
    check(["ecs", "fileSystemId"]; "\\Afs-[0-9a-f]{8,17}\\z"; "an EFS file system id"),
    (select(.ecs.fileSystemId != .efsFileSystemId)
     | "ecs.fileSystemId: \"\(.ecs.fileSystemId)\" is not efsFileSystemId \"\(.efsFileSystemId)\" (the host mounts one file system)"),
    check(["ecs", "hostAccessPointId"]; "\\Afsap-[0-9a-f]{8,17}\\z"; "an EFS access point id (fsap- and 8 to 17 hex digits)"),
    (("appRoleBoundaryArn", "sandboxRoleBoundaryArn") as $k
     | check(["ecs", $k]; "\\Aarn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]{1,512}\\z"; "an IAM policy ARN")),
    check(["ecs", "appRolePath"]; "\\A/([A-Za-z0-9+=,.@_-]+/)*\\z"; "an IAM path such as /oh-app/"),
    check(["ecs", "sandboxRolePath"]; "\\A/([A-Za-z0-9+=,.@_-]+/)*\\z"; "an IAM path such as /oh-sandbox/"),
    check(["ecs", "userSecretPrefix"]; "\\A[A-Za-z0-9_+=.@-][A-Za-z0-9/_+=.@-]{0,398}/\\z"; "a Secrets Manager name prefix ending in /"),
    check(["ecs", "deployment"]; "\\A[a-z][a-z0-9-]{1,38}[a-z0-9]\\z"; "<name>-<environment> of the deployment"),
    check(["ecs", "taskLogGroup"]; loggroup; "a CloudWatch log group name"),
    check(["ecs", "sandboxDomain"]; dns; "a lower-case DNS name"),
    # reaches an aws command line: the bare id Route 53 returns, without its /hostedzone/ prefix
    check(["ecs", "sandboxZoneId"]; "\\AZ[A-Z0-9]{1,31}\\z"; "a Route 53 zone id (Z and up to 31 upper-case letters or digits)")
  end)
'

validate_host_config() {
  local problems
  problems="$(jq -r "$HOST_CONFIG_CHECKS" "$(host_path "$HOST_CONFIG_FILE")")" || die "host configuration: cannot check $HOST_CONFIG_FILE"
  [ -z "$problems" ] || die "host configuration $OH_HOST_CONFIG_PARAMETER is invalid:
$problems"
}

step_host_config() {
  fetch_host_config
  validate_host_config
  load_host_config_values
}
