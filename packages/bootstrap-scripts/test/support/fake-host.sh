#!/usr/bin/env bash
# Stub of every system command the host bundle calls, for dry runs (test/install-dry-run.test.ts). Linked
# under each command's name on a PATH of stubs; dispatches on the name it was called by. Each call is
# appended to $STUB_LOG as one line, the command name then its arguments (%q-quoted), and the fake
# world lives in files under $STUB_STATE so that a second run sees what the first one did:
#   rpms               installed packages, one per line
#   units/<unit>.{enabled,active}
#   mounts             mounted directories, one per line
#   fs/<device>        file system type of a block device
#   images/<id>        one image: its RepoTags then "digest <repo>@sha256:..." lines
#   ssm/<name>         parameter values (name with / replaced by _)
#   secrets/<arn>      secret values (arn with : and / replaced by _), secrets/<arn>.token the request token
#   iptables, ip6tables  rules added with -N/-I (one per line); iptables-restore input is appended too
#   health-down        present: the health endpoint does not answer
#   imds/local-ipv4    the instance's private IPv4 address the metadata service answers (default 10.0.1.23)
#   route53/<zone id>  the last change batch sent to that hosted zone; route53/deny: access denied on every change
# Failures mimic the real tools' exit codes and messages where the scripts look at them.
# Contract sources: AWS CLI v2 (exit code 254 and "An error occurred (<Code>)" on service errors), the EC2 user
# guide's IMDSv2 (PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds, then X-aws-ec2-metadata-token),
# systemctl(1) is-enabled/is-active --quiet exit codes, mountpoint(1), blkid(8) -o value -s TYPE.
set -uo pipefail

name="${0##*/}"
state="${STUB_STATE:?}"
{
  printf '%s' "$name"
  printf ' %q' "$@"
  printf '\n'
} >>"${STUB_LOG:?}"

key() {
  printf '%s' "${1//[\/:@]/_}"
}

# arg FLAG ARGS...: the value following FLAG
arg() {
  local flag="$1"
  shift
  while [ "$#" -gt 0 ]; do
    if [ "$1" = "$flag" ]; then
      printf '%s' "${2:-}"
      return 0
    fi
    shift
  done
  return 1
}

has() {
  local flag="$1"
  shift
  local a
  for a in "$@"; do [ "$a" = "$flag" ] && return 0; done
  return 1
}

# file://path -> the file's content
value_of() {
  case "$1" in
    file://*) cat "${1#file://}" ;;
    *) printf '%s' "$1" ;;
  esac
}

aws_error() {
  echo "An error occurred ($1) when calling the $2 operation: $3" >&2
  exit 254
}

fake_aws() {
  local service="$1" op="$2"
  shift 2
  case "$service $op" in
    "ssm get-parameter")
      local file
      file="$state/ssm/$(key "$(arg --name "$@")")"
      [ -f "$file" ] || aws_error ParameterNotFound GetParameter "parameter not found"
      cat "$file"
      echo
      ;;
    "ssm put-parameter")
      has --overwrite "$@" || aws_error ParameterAlreadyExists PutParameter "exists"
      mkdir -p "$state/ssm"
      value_of "$(arg --value "$@")" >"$state/ssm/$(key "$(arg --name "$@")")"
      ;;
    "secretsmanager get-secret-value")
      local file
      file="$state/secrets/$(key "$(arg --secret-id "$@")")"
      [ -f "$state/secrets/deny" ] && aws_error AccessDeniedException GetSecretValue "not authorized"
      [ -f "$file" ] ||
        aws_error ResourceNotFoundException GetSecretValue \
          "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
      cat "$file"
      echo
      ;;
    "secretsmanager put-secret-value")
      local file token
      file="$state/secrets/$(key "$(arg --secret-id "$@")")"
      token="$(arg --client-request-token "$@")"
      if [ -f "$file" ]; then
        [ "$(cat "$file.token" 2>/dev/null)" = "$token" ] ||
          aws_error ResourceExistsException PutSecretValue "a version with this token exists with another value"
        exit 0
      fi
      mkdir -p "$state/secrets"
      value_of "$(arg --secret-string "$@")" >"$file"
      printf '%s' "$token" >"$file.token"
      ;;
    "route53 change-resource-record-sets")
      local zone
      zone="$(arg --hosted-zone-id "$@")" || { echo "aws: error: the following arguments are required: --hosted-zone-id" >&2 && exit 252; }
      [ -f "$state/route53/deny" ] && aws_error AccessDenied ChangeResourceRecordSets \
        "User: arn:aws:sts::123456789012:assumed-role/oh-test-host/i-0 is not authorized to perform: route53:ChangeResourceRecordSets"
      jq -e '.Changes | length > 0' >/dev/null 2>&1 <<<"$(value_of "$(arg --change-batch "$@")")" ||
        aws_error InvalidInput ChangeResourceRecordSets "Invalid change batch"
      mkdir -p "$state/route53"
      value_of "$(arg --change-batch "$@")" >"$state/route53/$(key "$zone")"
      # what --query ChangeInfo.Id --output text prints
      echo "/change/C0123456789ABCDEFGHIJK"
      ;;
    "ecr get-login-password") echo "ecr-token" ;;
    "cloudwatch put-metric-data") ;;
    *) echo "fake aws: unsupported $service $op" >&2 && exit 2 ;;
  esac
}

fake_systemctl() {
  local quiet=""
  if [ "${2:-}" = "--quiet" ]; then
    quiet=1
    set -- "$1" "${@:3}"
  fi
  local verb="$1" unit="${2:-}"
  mkdir -p "$state/units"
  case "$verb" in
    is-enabled) [ -f "$state/units/$unit.enabled" ] || { [ -n "$quiet" ] || echo disabled; exit 1; } ;;
    is-active) [ -f "$state/units/$unit.active" ] || { [ -n "$quiet" ] || echo inactive; exit 3; } ;;
    enable) touch "$state/units/$unit.enabled" ;;
    start | restart) touch "$state/units/$unit.active" ;;
    daemon-reload) ;;
    *) echo "fake systemctl: unsupported $verb" >&2 && exit 2 ;;
  esac
}

image_file() {
  grep -lxF "$1" "$state"/images/* 2>/dev/null | head -n 1
}

fake_docker() {
  case "$1" in
    info) [ -f "$state/units/docker.service.active" ] || { echo "Cannot connect to the Docker daemon" >&2 && exit 1; }; echo "25.0.8" ;;
    image)
      case "$2" in
        inspect)
          local ref="${!#}" file
          file="$(image_file "$ref")"
          [ -n "$file" ] || { echo "Error: No such image: $ref" >&2 && exit 1; }
          if has '{{join .RepoTags "\n"}}' "$@"; then grep -v '^digest ' "$file"; fi
          if has '{{join .RepoDigests "\n"}}' "$@"; then sed -n 's/^digest //p' "$file"; fi
          ;;
        rm) sed -i "\|^$3\$|d" "$(image_file "$3")" ;;
        *) exit 2 ;;
      esac
      ;;
    pull)
      local ref="${!#}"
      mkdir -p "$state/images"
      if [[ "$ref" == *@sha256:* ]]; then
        printf 'digest %s\n' "$ref" >"$state/images/$(key "$ref")"
      else
        printf '%s\n' "$ref" >"$state/images/$(key "$ref")"
      fi
      ;;
    tag) printf '%s\n' "$3" >>"$(image_file "digest $2" | head -n 1)" ;;
    run)
      # the proxy renderer: run it for real, on the dry run's files
      local script settings out
      script="$(arg node "$@")"
      settings="$(arg --settings "$@")"
      out="$(arg --out "$@")"
      node "$OH_ROOT$script" --settings "$OH_ROOT$settings" --out "$OH_ROOT$out"
      ;;
    *) echo "fake docker: unsupported $1" >&2 && exit 2 ;;
  esac
}

case "$name" in
  aws) fake_aws "$@" ;;
  systemctl) fake_systemctl "$@" ;;
  docker) fake_docker "$@" ;;
  rpm) grep -qxF "${!#}" "$state/rpms" 2>/dev/null ;;
  dnf)
    for pkg in "$@"; do
      case "$pkg" in install | -*) ;; *) echo "$pkg" >>"$state/rpms" ;; esac
    done
    ;;
  mountpoint) grep -qxF "${!#}" "$state/mounts" 2>/dev/null ;;
  mount)
    # mount by mount point needs an fstab entry, as the real one does
    awk -v dir="$1" '$1 !~ /^#/ && $2 == dir { found = 1 } END { exit !found }' "$OH_ROOT/etc/fstab" || {
      echo "mount: $1: can't find in /etc/fstab." >&2
      exit 1
    }
    echo "$1" >>"$state/mounts"
    ;;
  blkid) cat "$state/fs/$(key "${!#}")" 2>/dev/null || exit 2 ;;
  mkfs.xfs) mkdir -p "$state/fs" && echo xfs >"$state/fs/$(key "${!#}")" ;;
  iptables | ip6tables)
    if has -C "$@"; then
      grep -qxF -- "$(printf '%s ' "$@" | sed 's/-w //; s/-C /-A /')" "$state/$name" 2>/dev/null
    elif has -I "$@"; then
      printf '%s ' "$@" | sed 's/-w //; s/-I \([^ ]*\) 1 /-A \1 /' >>"$state/$name"
      echo >>"$state/$name"
    elif has -N "$@"; then
      echo "-N $(arg -N "$@")" >>"$state/$name"
    elif has -L "$@"; then
      grep -qxF -- "-N ${!#}" "$state/$name" 2>/dev/null
    fi
    ;;
  iptables-restore | ip6tables-restore) cat >>"$state/${name%-restore}" ;;
  curl)
    # the instance metadata service, IMDSv2 only: a token from PUT /latest/api/token, then GETs carrying it (else 401)
    case "${*: -1}" in
      http://169.254.169.254/latest/api/token)
        [ "$(arg -X "$@")" = PUT ] && has "X-aws-ec2-metadata-token-ttl-seconds: 60" "$@" || exit 22
        echo "fake-imds-token"
        exit 0
        ;;
      http://169.254.169.254/latest/meta-data/local-ipv4)
        has "X-aws-ec2-metadata-token: fake-imds-token" "$@" || exit 22
        cat "$state/imds/local-ipv4" 2>/dev/null || printf '10.0.1.23'
        exit 0
        ;;
    esac
    if has -o "$@"; then
      printf 'fake docker compose plugin\n' >"$(arg -o "$@")"
    else
      [ -f "$state/units/openhands-team.service.active" ] && [ ! -f "$state/health-down" ] || exit 7
      case "${*: -1}" in
        */v1/stats) cat "$state/spawner-stats.json" 2>/dev/null || exit 7 ;;
        */_oh/health)
          if [ -f "$state/health-answer.json" ]; then cat "$state/health-answer.json"; else echo '{"nginx":"ok","spawner":"ok"}'; fi
          ;;
        *) echo '{"nginx":"ok","spawner":"ok"}' ;;
      esac
    fi
    ;;
  amazon-cloudwatch-agent-ctl) mkdir -p "$state/units" && touch "$state/units/amazon-cloudwatch-agent.service.active" ;;
  sysctl | modprobe | sleep) ;;
  ip)
    # the firewall's blackhole route for the user networks: remembered in the fake world
    case "$*" in
      "route replace blackhole "*) mkdir -p "$state/routes" && touch "$state/routes/blackhole" ;;
      "route show type blackhole "*) [ -f "$state/routes/blackhole" ] && echo "blackhole ${*: -1}" ;;
      *) echo "fake host: unsupported ip $*" >&2 && exit 2 ;;
    esac
    ;;
  id) echo 0 ;;
  *) echo "fake host: no stub for $name" >&2 && exit 2 ;;
esac
