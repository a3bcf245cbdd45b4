#!/bin/bash
# Guest entry point of test/uml/nfs-agent.test.ts (one user-mode-linux boot, modules nfsd and nfsv4 loaded):
# kernel NFS server exporting a tmpfs, a hard NFSv4 mount of it over 127.0.0.1 holding a sentinel, then
# nfs-agent.mjs drives vsd and vsd-agent through the phases. Results go to $VSD_OUT; a setup failure is written
# to $VSD_OUT/nfs-error (exit 3) so the test can say why instead of passing on nothing.
# Whatever happens, the NFS mount is force/lazily unmounted at the end: the guest's final sync and power-off
# must not wait on a dead server.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
EXPORT=/tmp/vsd-nfs-export
MNT=/tmp/vsd-nfs-mnt
# hard: I/O waits for the server forever (what production uses, and what must not hang the agent);
# timeo=10 (1 s), retrans=2: the client notices a dead server and retries quickly.
MOUNT_OPTS=hard,timeo=10,retrans=2
SENTINEL_TEXT="release 42"

fail() {
  echo "$*" > "$VSD_OUT/nfs-error"
  echo "nfs-agent.sh: $*" >&2
  exit 3
}

cleanup() {
  # Several layers may be stacked at $MNT after a failed phase: peel them all off.
  for _ in 1 2 3 4; do
    grep -q " $MNT " /proc/self/mountinfo || break
    umount -f -l "$MNT" 2>/dev/null || break
  done
  "$HERE/nfs-server.sh" teardown >/dev/null 2>&1 || true
  umount -l "$EXPORT" 2>/dev/null || true
}
trap cleanup EXIT

t=$(date +%s%N)
# Milliseconds since the set-up began, per step, into $VSD_OUT/timeline (how a busy guest spends its time).
mark() { echo "$(( ($(date +%s%N) - t) / 1000000 )) $1" >> "$VSD_OUT/timeline"; }
mkdir -p "$EXPORT" "$MNT"
mount -t tmpfs -o size=8m vsdexport "$EXPORT" || fail "cannot mount the tmpfs to export"
printf '%s' "$SENTINEL_TEXT" > "$EXPORT/.vsd-sentinel"
out=$(timeout -s KILL 60 "$HERE/nfs-server.sh" setup "$EXPORT" 2>&1) || fail "NFS server did not start: $out"
mark nfs-server
out=$(timeout -s KILL 60 mount -t nfs4 -o "$MOUNT_OPTS" 127.0.0.1:/ "$MNT" 2>&1) || fail "NFS mount of 127.0.0.1:/ failed: $out"
mark nfs-mount
grep " $MNT " /proc/self/mountinfo > "$VSD_OUT/mountinfo.txt"
got=$(timeout -s KILL 20 cat "$MNT/.vsd-sentinel" 2>&1) || fail "sentinel not readable over NFS: $got"
[ "$got" = "$SENTINEL_TEXT" ] || fail "sentinel read over NFS differs: $got"

VSD_ROOT=$ROOT NFS_MNT=$MNT NFS_SERVER_SH="$HERE/nfs-server.sh" NFS_WORK=/tmp/vsd-nfs-work NFS_MOUNT_OPTS=$MOUNT_OPTS \
  NFS_SENTINEL_TEXT=$SENTINEL_TEXT timeout -s KILL 390 node "$HERE/nfs-agent.mjs"
echo "driver exit $?" >&2
mark driver-done
