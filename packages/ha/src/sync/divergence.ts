/**
 * The divergence record: transactions a partition heal could not re-apply (merge.ts), kept until an operator replays
 * or drops them (`vsctl sync --divergence`, `--replay-divergence`, `--drop-divergence`). Kept in a file next to the
 * state file, so a restart does not lose them; bounded (the oldest go first, and that is logged).
 */
import { existsSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import type { Logger } from '@vsd/core';
import type { DivergenceEntry } from './merge.js';

export const MAX_DIVERGENCE_ENTRIES = 1000;

export class DivergenceRecord {
  private entries: DivergenceEntry[] = [];
  private seq = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string | null,
    private readonly log: Logger,
  ) {
    if (path && existsSync(path)) {
      try {
        const doc = JSON.parse(readFileSync(path, 'utf8')) as { entries?: DivergenceEntry[] };
        this.entries = Array.isArray(doc.entries) ? doc.entries : [];
      } catch (err) {
        log.error({ err, path }, 'divergence record unreadable; starting empty (the file is left in place)');
        this.path = null;
      }
    }
    for (const e of this.entries) this.seq = Math.max(this.seq, Number(e.id.split('-')[1] ?? 0) || 0);
  }

  newId(): string {
    return `d-${++this.seq}`;
  }

  list(): readonly DivergenceEntry[] {
    return this.entries;
  }

  get(id: string): DivergenceEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  async add(entries: readonly DivergenceEntry[]): Promise<void> {
    if (!entries.length) return;
    this.entries.push(...entries);
    const over = this.entries.length - MAX_DIVERGENCE_ENTRIES;
    if (over > 0) {
      const dropped = this.entries.splice(0, over);
      this.log.warn({ code: 'VSD_DIVERGENCE', dropped: dropped.map((e) => e.id) }, 'divergence record full: the oldest entries were dropped');
    }
    await this.save();
  }

  async remove(ids: readonly string[]): Promise<void> {
    const gone = new Set(ids);
    this.entries = this.entries.filter((e) => !gone.has(e.id));
    await this.save();
  }

  private save(): Promise<void> {
    const path = this.path;
    if (!path) return Promise.resolve();
    const text = JSON.stringify({ version: 1, entries: this.entries }, null, 1);
    this.writing = this.writing.then(async () => {
      const tmp = `${path}.tmp`;
      const f = await open(tmp, 'w', 0o600);
      try {
        await f.writeFile(text);
        await f.sync();
      } finally {
        await f.close();
      }
      await rename(tmp, path);
    });
    return this.writing.catch((err: Error) => this.log.error({ err, path }, 'cannot write the divergence record'));
  }
}
