#!/bin/sh
# Runs a command in the network namespace it was started in (see scripts/test.ts:
# `unshare --net`), after making loopback the only network that carries traffic.
#
# A veth pair with no addresses but IPv6 link-local ones is also brought up:
# Chromium counts itself online (navigator.onLine) only when some interface
# besides loopback is up, and WebRTC offers no candidates on link-local
# addresses, so every connection still goes over 127.0.0.1 or ::1. Both ends of
# the pair are in this namespace: nothing leaves it.
set -eu
ip link set lo up
echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad # the link-local addresses are usable at once
ip link add browser-net type veth peer name browser-peer
ip link set browser-net up
ip link set browser-peer up
exec "$@"
