/** Files the host's user data writes, relative to the host root. */
export const HOST_ROOT_FILES = ["/etc/openhands-team"] as const;
