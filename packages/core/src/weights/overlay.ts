/**
 * Runtime adjustments of real servers that never touch the operator's configured weight:
 * health checks, agents and storage status each contribute a factor per real server (0 = drained, 1 = full),
 * may ask for the real server to be removed from the dataplane (health check without inhibit_on_failure),
 * and may put a sorry server in place of a service's real servers while it has lost quorum.
 *
 * effective weight = floor(configured weight x product of the factors of every source), at least 1 unless a factor is 0.
 */
import type { RealServer } from '../model/schema.js';

export interface DestAdjustment {
  /** 0..1 */
  factor: number;
  /** Take the real server out of the dataplane instead of setting its weight to 0. */
  remove?: boolean;
  reason?: string;
}

export interface DestView {
  factor: number;
  removed: boolean;
  /** source -> adjustment, for status displays. */
  sources: Record<string, DestAdjustment>;
}

export type OverlayListener = () => void;

export class WeightOverlay {
  /** svcKey -> rsKey -> source -> adjustment */
  private readonly dests = new Map<string, Map<string, Map<string, DestAdjustment>>>();
  private readonly sorry = new Map<string, RealServer>();
  private readonly listeners = new Set<OverlayListener>();

  /** Set (or with null clear) one source's adjustment of a real server. */
  set(source: string, svcKey: string, rsKey: string, adjustment: DestAdjustment | null): void {
    let bySvc = this.dests.get(svcKey);
    if (!bySvc) this.dests.set(svcKey, (bySvc = new Map()));
    let byRs = bySvc.get(rsKey);
    if (!byRs) bySvc.set(rsKey, (byRs = new Map()));
    const prev = byRs.get(source);
    if (adjustment === null) {
      if (!prev) return;
      byRs.delete(source);
    } else {
      const a = { ...adjustment, factor: Math.min(1, Math.max(0, adjustment.factor)) };
      if (prev && prev.factor === a.factor && !!prev.remove === !!a.remove && prev.reason === a.reason) return;
      byRs.set(source, a);
    }
    this.emit();
  }

  /** Forget everything one source said (the source stopped, e.g. checks disabled on reload). */
  clearSource(source: string, svcKey?: string): void {
    let changed = false;
    for (const [sk, bySvc] of this.dests) {
      if (svcKey !== undefined && sk !== svcKey) continue;
      for (const byRs of bySvc.values()) changed = byRs.delete(source) || changed;
    }
    if (changed) this.emit();
  }

  setSorryServer(svcKey: string, server: RealServer | null): void {
    const prev = this.sorry.get(svcKey);
    if (server === null ? !prev : prev && JSON.stringify(prev) === JSON.stringify(server)) return;
    if (server === null) this.sorry.delete(svcKey);
    else this.sorry.set(svcKey, server);
    this.emit();
  }

  sorryServer(svcKey: string): RealServer | undefined {
    return this.sorry.get(svcKey);
  }

  view(svcKey: string, rsKey: string): DestView {
    const byRs = this.dests.get(svcKey)?.get(rsKey);
    let factor = 1;
    let removed = false;
    const sources: Record<string, DestAdjustment> = {};
    if (byRs)
      for (const [src, a] of byRs) {
        factor *= a.factor;
        removed ||= !!a.remove;
        sources[src] = a;
      }
    return { factor, removed, sources };
  }

  onChange(listener: OverlayListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }
}

/**
 * A partial reduction never quiesces: only a factor of 0 (down, drained) takes a real server's weight to 0,
 * so a weight-1 server at 10 % load feedback still takes new connections (at weight 1). Use larger configured
 * weights (e.g. 100) for agent feedback to have a fine-grained effect.
 */
export function effectiveWeight(configured: number, factor: number): number {
  if (configured === 0 || factor <= 0) return 0;
  return Math.max(1, Math.floor(configured * factor + 1e-9));
}
