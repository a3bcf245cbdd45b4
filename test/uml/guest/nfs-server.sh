#!/bin/bash
# The kernel NFS server inside the user-mode-linux guest (never on the host: the host kernel has no nfsd).
#   nfs-server.sh setup EXPORT_DIR   tmpfs state dirs, nfsd/rpc_pipefs, rpcbind, mountd, export EXPORT_DIR as the
#                                    NFSv4 root (fsid=0) to 127.0.0.0/8, start nfsd (v4 only)
#   nfs-server.sh stop               rpc.nfsd 0: the server goes away, I/O on hard mounts hangs (retried forever);
#                                    prints the time (epoch ms) it was gone
#   nfs-server.sh start              nfsd threads again: clients reconnect and reclaim
#   nfs-server.sh teardown           no nfsd threads, no exports (rpcbind and mountd die with the guest)
#
# Host hygiene: the guest's / is the host's /, so every file the NFS tools write lives on a guest-only tmpfs
# (/var/lib/nfs here; /run is already one). /etc/exports is never read or written: the export is given to
# exportfs on the command line and recorded only in the tmpfs etab. EXPORT_DIR itself must be a guest tmpfs
# (tmpfs is exportable; the hostfs root is not).
set -euo pipefail

NTHREADS=4

setup() {
  local dir=$1
  mountpoint -q /var/lib/nfs || mount -t tmpfs -o size=4m vsdnfsstate /var/lib/nfs
  mkdir -p /var/lib/nfs/rpc_pipefs /var/lib/nfs/v4recovery /var/lib/nfs/sm /var/lib/nfs/sm.bak
  touch /var/lib/nfs/etab /var/lib/nfs/rmtab
  mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
  mountpoint -q /var/lib/nfs/rpc_pipefs || mount -t rpc_pipefs rpc_pipefs /var/lib/nfs/rpc_pipefs
  # Short lease and grace (default 90 s each): a restarted server lets clients reclaim and open files again
  # within seconds. Only writable while no nfsd thread runs.
  echo 10 > /proc/fs/nfsd/nfsv4leasetime
  echo 10 > /proc/fs/nfsd/nfsv4gracetime
  rpcbind -w
  exportfs -o rw,sync,no_subtree_check,no_root_squash,insecure,fsid=0 "127.0.0.0/8:$dir"
  # mountd answers the kernel's export-cache upcalls, which NFSv4 needs too.
  rpc.mountd -N 3
  rpc.nfsd -N 3 "$NTHREADS"
  [ "$(cat /proc/fs/nfsd/threads)" -gt 0 ] || { echo "nfsd has no threads after rpc.nfsd" >&2; exit 1; }
  # A fresh server has no client state to wait for: leave the grace period at once (nfsdcld does the same).
  # A restart ("start" below) keeps its grace period, as a real one would.
  echo Y > /proc/fs/nfsd/v4_end_grace
}

case "${1:-}" in
  setup) setup "$2" ;;
  # Prints when nfsd's threads were gone (epoch ms): rpc.nfsd returns after the kernel stopped them.
  stop) rpc.nfsd 0 && date +%s%3N ;;
  start) rpc.nfsd -N 3 "$NTHREADS" ;;
  teardown)
    rpc.nfsd 0 || true
    exportfs -ua || true
    ;;
  *) echo "usage: nfs-server.sh setup DIR | stop | start | teardown" >&2; exit 2 ;;
esac
