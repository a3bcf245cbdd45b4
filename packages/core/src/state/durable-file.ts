/**
 * A lowdb adapter that survives power loss as well as crashes: the document is written to a temporary file in the
 * same directory, fsynced, renamed over the old file, and the directory is fsynced so the rename itself is on disk.
 * (lowdb's own JSONFile writes temp + rename but never fsyncs: safe against a killed process, not a lost machine.)
 *
 * A write that fails at any step (ENOSPC, EDQUOT, EIO on write or fsync, a failed rename) removes its temporary
 * file, so a full disk does not fill up further with partial copies. Temporary files left by a process that died
 * mid-write (SIGKILL, power loss) are removed before the first write.
 */
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';

/** The calls the adapter makes; tests inject failing ones. */
export interface DurableFileIo {
  open: typeof open;
  rename: typeof rename;
  unlink: typeof unlink;
  readdir: (path: string) => Promise<string[]>;
}

const NODE_IO: DurableFileIo = { open, rename, unlink, readdir: (p) => readdir(p) };

export class DurableJsonFile<T> implements Adapter<T> {
  private seq = 0;
  private swept = false;
  private readonly io: DurableFileIo;

  constructor(
    private readonly path: string,
    io: Partial<DurableFileIo> = {},
  ) {
    this.io = { ...NODE_IO, ...io };
  }

  async read(): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async write(data: T): Promise<void> {
    if (!this.swept) await this.sweepStale();
    const tmp = join(dirname(this.path), `${this.tmpPrefix}${process.pid}.${this.seq++}.tmp`);
    try {
      const fh = await this.io.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(`${JSON.stringify(data, null, 2)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.io.rename(tmp, this.path);
    } catch (err) {
      await this.io.unlink(tmp).catch(() => undefined);
      throw err;
    }
    const dir = await this.io.open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  private get tmpPrefix(): string {
    return `.${basename(this.path)}.`;
  }

  /** Remove temporary files of this state file whose writer is gone (another pid no longer alive, or this one's). */
  private async sweepStale(): Promise<void> {
    this.swept = true;
    const names = await this.io.readdir(dirname(this.path)).catch(() => [] as string[]);
    const prefix = this.tmpPrefix;
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const pid = Number(name.slice(prefix.length).split('.')[0]);
      if (!Number.isInteger(pid) || (pid !== process.pid && alive(pid))) continue;
      await this.io.unlink(join(dirname(this.path), name)).catch(() => undefined);
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
