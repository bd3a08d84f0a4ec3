# shellcheck shell=bash
# Step: every pinned image pulled before the first user arrives (a pull can outlast OpenHands' sandbox
# start timeout). The agent-server image must carry exactly one tag: OpenHands uses image.tags[0] as the
# sandbox spec id, and a second tag would make conversation starts fail.

IMAGE_KEYS=(app agentServer openresty llmGateway node)

# ECR repositories need a login (the instance role has pull rights); public registries do not.
login_to_ecr() {
  local registry="$1" region
  region="$(sed -E 's/^[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/\1/' <<<"$registry")"
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry" >/dev/null
}

# pull_image REF: pulls REF (repository:tag, optionally @sha256:digest) unless present. A digest-pinned
# image is pulled by digest and tagged with its tag, so the local name is the tag and the bytes are the
# digest's.
pull_image() {
  local ref="$1" tagged="${1%@*}" registry
  if docker image inspect "$tagged" >/dev/null 2>&1; then
    if [[ "$ref" != *@sha256:* ]] ||
      docker image inspect --format '{{join .RepoDigests "\n"}}' "$tagged" | grep -qxF "${tagged%:*}@${ref#*@}"; then
      return 0
    fi
  fi
  registry="${ref%%/*}"
  if [[ "$registry" =~ ^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$ ]]; then
    login_to_ecr "$registry"
  fi
  if [[ "$ref" == *@sha256:* ]]; then
    retry 5 15 docker pull -q "${tagged%:*}@${ref#*@}" >/dev/null || die "cannot pull $ref"
    docker tag "${tagged%:*}@${ref#*@}" "$tagged"
  else
    retry 5 15 docker pull -q "$ref" >/dev/null || die "cannot pull $ref"
  fi
  log "pulled $ref"
}

# Extra tags on the agent-server image (a retag by hand, an old pull) are removed, never the image.
ensure_single_tag() {
  local tagged="${1%@*}" tag
  while IFS= read -r tag; do
    if [ -z "$tag" ] || [ "$tag" = "$tagged" ]; then
      continue
    fi
    docker image rm "$tag" >/dev/null
    log "removed extra tag $tag from the agent-server image"
  done < <(docker image inspect --format '{{join .RepoTags "\n"}}' "$tagged")
}

step_images() {
  local key
  for key in "${IMAGE_KEYS[@]}"; do
    pull_image "$(cfg ".images.$key")"
  done
  ensure_single_tag "$(cfg .images.agentServer)"
}
