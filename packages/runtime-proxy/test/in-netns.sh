#!/bin/sh
# Runs a command in a private network namespace whose loopback also holds the users' subnets
# (10.240.0.0/16), so the tests can put stand-in apps and sandboxes at the addresses the proxy
# accepts as upstreams (<prefix>.N.2, <prefix>.N.128/25; never 127.x). Nothing outside changes:
# the namespace goes away with the command. Needs root (or CAP_SYS_ADMIN) and iproute2.
#   sh test/in-netns.sh npx jest test/attacks.test.ts
set -eu
if [ "${OH_PROXY_TEST_NETNS:-}" = "1" ]; then exec "$@"; fi
export OH_PROXY_TEST_NETNS=1
exec unshare --net -- sh -c 'ip link set lo up && ip addr add 10.240.0.1/16 dev lo && exec "$@"' in-netns "$@"
