/**
 * /proc/self/mountinfo (proc(5)): reading it never touches the mounted filesystems, so it is safe in the agent's own
 * process even when an NFS server hangs.
 *
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id parent dev root mountpoint options [optional fields...] - fstype source super-options
 */
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  mountPoint: string;
  fstype: string;
  source: string;
  readOnly: boolean;
}

/** Octal escapes (\040 space, \011 tab, \012 newline, \134 backslash) as the kernel writes them. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 3) continue;
    const opts = f[5]!.split(',');
    const superOpts = (f[sep + 3] ?? '').split(',');
    out.push({
      mountPoint: unescape(f[4]!),
      fstype: unescape(f[sep + 1]!),
      source: unescape(f[sep + 2]!),
      readOnly: opts.includes('ro') || superOpts.includes('ro'),
    });
  }
  return out;
}

/** The mount visible at `path`: the last (topmost) entry for that mount point, or null. */
export function findMount(entries: readonly MountEntry[], path: string): MountEntry | null {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.mountPoint === path) return entries[i]!;
  return null;
}

export async function readMountinfo(file = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  return parseMountinfo(await readFile(file, 'utf8'));
}
