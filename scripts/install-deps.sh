#!/usr/bin/env bash
# Installs everything the test tiers need on a fresh Debian machine with Node 20: the Debian packages used as
# real peers and kernels (keepalived, ipvsadm, user-mode-linux, haproxy, nginx, ...), pnpm (pinned, from the npm
# registry, because corepack's signature check fails here) and the workspace's npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION="$(node -p "require('./package.json').packageManager.split('@')[1]")"
DEBS=(iproute2 nftables kmod keepalived ipvsadm user-mode-linux haproxy nginx-light libnginx-mod-stream wrk tcpdump arping
  iputils-ping curl procps psmisc fuse3 util-linux nfs-kernel-server nfs-common rpcbind
  prometheus prometheus-node-exporter chromium # metrics listener: promtool, node_exporter's ipvs collector to compare with; status page: headless chromium (unit tier)
  systemd systemd-container groff-base man-db # systemd-analyze/-sysusers/-nspawn, groff, man: the .deb and unit tests (netns tier), the man pages (unit tier)
  bird2 frr # the routing daemons of the BGP scale-out (netns tier: an upstream router and the dispatchers' BIRD)
  gcc libc6-dev # the LD_PRELOAD shim that lets user-mode-linux 6.1 restore FPU state on AVX-512/AMX hosts (uml tier)
  clang llvm libbpf-dev libbpf1 bpftool ethtool) # the xdp dataplane: clang compiles packages/core/bpf at build time, libbpf1 loads it, bpftool to inspect; ethtool: its netns test turns off a veth's checksum offload

if [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${DEBS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-deps: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "install-deps: not root, skipping Debian packages (the netns and uml tiers need root and will say so)" >&2
fi

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "install-deps: installing pnpm@$PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi
pnpm install --frozen-lockfile
