/**
 * The sync daemon's interface as the kernel sees it when it starts the daemon: ENODEV when it does not exist,
 * and the message size limit it derives from the MTU (read from sysfs; VSADM_SYSFS_NET points elsewhere in tests).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function interfaceMtu(name: string, root = process.env.VSADM_SYSFS_NET ?? '/sys/class/net'): number | null {
  if (!name || name.includes('/') || name.startsWith('.')) return null;
  try {
    const mtu = Number(readFileSync(join(root, name, 'mtu'), 'utf8').trim());
    return Number.isFinite(mtu) ? mtu : null;
  } catch {
    return null;
  }
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * start_sync_thread: the master always sizes for a 1500-byte MTU; the backup for its interface's MTU
 * (1500..65535); an explicit length is clamped. Header room is IP + UDP.
 */
export function syncMaxlen(state: 'master' | 'backup', requested: number, mtu: number, ipv6Group: boolean): number {
  const hlen = ipv6Group ? 48 : 28;
  if (requested) return clamp(requested, state === 'backup' ? 1024 : 1, 65535 - hlen);
  return (state === 'backup' ? clamp(mtu, 1500, 65535) : 1500) - hlen;
}
