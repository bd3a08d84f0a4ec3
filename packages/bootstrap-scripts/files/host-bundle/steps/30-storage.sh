# shellcheck shell=bash
# Step: the Docker data volume (second EBS volume, formatted once, mounted at /var/lib/docker before
# Docker first starts) and the EFS file system (TLS in transit, IAM authorization; in ECS mode through the
# host's access point) for workspaces and per-user state. Both go through /etc/fstab so a reboot mounts them
# again without this script.

DOCKER_VOLUME_DEVICE="${OH_DOCKER_VOLUME_DEVICE:-/dev/xvdb}"
DOCKER_VOLUME_LABEL=oh-docker
DOCKER_DATA_DIR=/var/lib/docker

# AL2023's udev rules link the launch template's device name to the NVMe device; give udev time.
wait_for_device() {
  local n
  for n in $(seq 1 60); do
    [ -e "$(host_path "$1")" ] && return 0
    [ "$n" -eq 1 ] && log "waiting for $1"
    sleep 1
  done
  die "block device $1 did not appear (is the Docker volume in the launch template?)"
}

format_docker_volume() {
  local fstype
  fstype="$(blkid -o value -s TYPE "$DOCKER_VOLUME_DEVICE" || true)"
  if [ -n "$fstype" ]; then
    return 0
  fi
  log "formatting $DOCKER_VOLUME_DEVICE (xfs, label $DOCKER_VOLUME_LABEL)"
  mkfs.xfs -q -L "$DOCKER_VOLUME_LABEL" "$DOCKER_VOLUME_DEVICE"
}

# ensure_fstab_entry MOUNT_DIR LINE: one line per mount point, replaced when it differs.
ensure_fstab_entry() {
  local dir="$1" line="$2" fstab current
  fstab="$(host_path /etc/fstab)"
  [ -f "$fstab" ] || : >"$fstab"
  current="$(awk -v dir="$dir" '$1 !~ /^#/ && $2 == dir' "$fstab")"
  [ "$current" = "$line" ] && return 0
  {
    awk -v dir="$dir" '!($1 !~ /^#/ && $2 == dir)' "$fstab"
    printf '%s\n' "$line"
  } | write_file 0644 /etc/fstab
}

mount_once() {
  ensure_dir 0755 "$1"
  mountpoint -q "$1" && return 0
  retry 5 5 mount "$1" || die "cannot mount $1"
  log "mounted $1"
}

mount_docker_volume() {
  wait_for_device "$DOCKER_VOLUME_DEVICE"
  format_docker_volume
  ensure_fstab_entry "$DOCKER_DATA_DIR" "LABEL=$DOCKER_VOLUME_LABEL $DOCKER_DATA_DIR xfs defaults,noatime,nofail 0 2"
  mount_once "$DOCKER_DATA_DIR"
}

mount_efs() {
  local fs_id options=_netdev,noresvport,tls,iam
  fs_id="$(cfg .efsFileSystemId)"
  # ECS mode: the file system policy refuses every mount without an access point; the host has its own (root /)
  if ecs_mode; then options+=",accesspoint=$(cfg .ecs.hostAccessPointId)"; fi
  ensure_fstab_entry "$EFS_MOUNT_DIR" "$fs_id:/ $EFS_MOUNT_DIR efs $options 0 0"
  mount_once "$EFS_MOUNT_DIR"
}

step_storage() {
  mount_docker_volume
  mount_efs
}
