/**
 * The unsynced mark: a small file written when this node commits a change of its own while it is not in sync with
 * its peer (a partition, the peer down), naming the last generation both agreed on and its digest; removed once the
 * pair agrees again. The journal and the digest history live in memory, so without it a node restarted during a
 * partition would take its own changes for agreed ones and the heal would overwrite them silently; with it, the heal
 * knows where the divergence began and keeps what it cannot account for (replicator.ts).
 *
 * Written once per episode, only while unsynced, so the pair's normal path costs no extra I/O.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { Logger } from '@vsd/core';

export interface Mark {
  generation: number;
  hash: string;
}

export class UnsyncedMark {
  private present: boolean;

  constructor(
    private readonly path: string | null,
    private readonly log: Logger,
  ) {
    this.present = path !== null && existsSync(path);
  }

  read(): Mark | null {
    if (!this.path || !this.present) return null;
    try {
      const m = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<Mark>;
      if (Number.isSafeInteger(m.generation) && typeof m.hash === 'string') return { generation: m.generation!, hash: m.hash };
    } catch (err) {
      this.log.error({ err, path: this.path }, 'unsynced mark unreadable; ignored');
    }
    return null;
  }

  /** Record the last agreed point, unless a mark is already there (the episode began earlier). */
  set(mark: Mark): void {
    if (!this.path || this.present) return;
    try {
      const tmp = `${this.path}.tmp`;
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, JSON.stringify(mark));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      this.present = true;
    } catch (err) {
      this.log.error({ err, path: this.path }, 'cannot write the unsynced mark');
    }
  }

  clear(): void {
    if (!this.path || !this.present) return;
    try {
      unlinkSync(this.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err, path: this.path }, 'cannot remove the unsynced mark');
    }
    this.present = false;
  }
}
