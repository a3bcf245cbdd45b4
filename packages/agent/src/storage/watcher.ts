/**
 * Status of every watched mount: presence, filesystem type, source and read-only flag from mountinfo (read in
 * process, safe), responsiveness, writability and the sentinel hash from a child-process probe per mount.
 * Probes run on their own clock so a slow mount never delays reports: a report carries the latest result.
 */
import type { Logger } from '@vsd/sys';
import type { MountReport } from '@vsd/protocol';
import type { MountConfig } from '../config.js';
import { findMount, readMountinfo, type MountEntry } from './mountinfo.js';
import { MountProber, type ProbeResult } from './probe.js';

interface Watched {
  cfg: MountConfig;
  prober: MountProber;
  entry: MountEntry | null;
  result: ProbeResult | null;
  /** The mount identity the result belongs to: a result from before a remount is void. */
  resultFor: string | null;
}

export class StorageWatcher {
  private readonly mounts: Watched[];

  constructor(
    mounts: readonly MountConfig[],
    private readonly agentName: string,
    private readonly log: Logger,
    private readonly mountinfoFile = '/proc/self/mountinfo',
  ) {
    this.mounts = mounts.map((cfg) => ({ cfg, prober: new MountProber(), entry: null, result: null, resultFor: null }));
  }

  /** Re-read mountinfo and start a probe of every present mount (the probes finish on their own). */
  async tick(): Promise<void> {
    let entries: MountEntry[] = [];
    try {
      entries = await readMountinfo(this.mountinfoFile);
    } catch (err) {
      this.log.error({ err }, 'cannot read mountinfo');
    }
    for (const w of this.mounts) {
      const before = w.entry;
      w.entry = findMount(entries, w.cfg.path);
      if (!w.entry) {
        w.result = null;
        if (before) this.log.warn({ path: w.cfg.path }, 'watched mount disappeared');
        continue;
      }
      if (!w.prober.busy) void this.probe(w);
    }
  }

  private identity(e: MountEntry): string {
    return `${e.fstype}\n${e.source}\n${e.readOnly}`;
  }

  private async probe(w: Watched): Promise<void> {
    const id = this.identity(w.entry!);
    const r = await w.prober.probe({
      path: w.cfg.path,
      sentinel: w.cfg.sentinel ?? null,
      writeFile: w.cfg.write_probe && !w.entry!.readOnly ? `.vsd-probe-${this.agentName.replace(/[^A-Za-z0-9_.-]/g, '_')}` : null,
      timeoutMs: w.cfg.timeout * 1000,
    });
    const was = w.result;
    w.result = r;
    w.resultFor = id;
    if (was?.responsive !== false && !r.responsive) this.log.warn({ path: w.cfg.path, error: r.error }, 'watched mount does not respond');
    else if (was?.responsive === false && r.responsive) this.log.info({ path: w.cfg.path }, 'watched mount responds again');
  }

  reports(): MountReport[] {
    return this.mounts.map((w) => {
      const e = w.entry;
      const r = e && w.resultFor === this.identity(e) ? w.result : null;
      return {
        path: w.cfg.path,
        group: w.cfg.group ?? w.cfg.source ?? w.cfg.path,
        present: e !== null,
        fstype: e?.fstype ?? null,
        source: e?.source ?? null,
        expectedFstype: w.cfg.fstype ?? null,
        expectedSource: w.cfg.source ?? null,
        readOnly: e?.readOnly ?? false,
        responsive: r ? r.responsive : null,
        writable: r ? r.writable : null,
        sentinel: r?.sentinel ?? null,
        sentinelConfigured: w.cfg.sentinel !== undefined,
        error: r?.error ?? null,
        probeMs: r?.ms ?? null,
      };
    });
  }
}
