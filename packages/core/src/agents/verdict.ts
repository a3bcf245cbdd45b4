/**
 * The dispatcher's judgement of its agents, as pure functions of what they reported and the clock, so that the
 * rules are unit-tested without sockets:
 *
 * - agent factor (overlay source 'agent'): weightPct / 100 from the last report; 0 when the agent is silent for
 *   `silentAfter` of its intervals, in maintenance, or its local service probe fails.
 * - storage factor (overlay source 'storage'): 0 while any watched mount has a problem (see mountProblem) or its
 *   sentinel differs from its consistency group's reference; cleared when healthy.
 *
 * Consistency reference per group: the hash pinned in the dispatcher config (`agents.sentinels`) when there is one;
 * otherwise the hash held by a strict majority of the live agents reporting the group. Without a strict majority
 * (e.g. one node against one) nobody is drained for consistency: vsd cannot tell which copy is right, and draining
 * both would turn a storage disagreement into an outage. The status shows the group as undecided.
 */
import type { DestAdjustment } from '../weights/overlay.js';
import { mountProblem, type AgentReport, type LoadReport } from './protocol.js';
import type { GroupReference } from '@vsd/protocol';
export type { GroupReference };

export interface AgentRecordView {
  agent: string;
  addresses: readonly string[];
  /** Seconds between reports, as the agent announced it. */
  interval: number;
  /** When the agent authenticated (ms), the start of the silence clock before its first report. */
  since: number;
  lastReportAt: number | null;
  lastReport: AgentReport | null;
}

export interface AgentVerdict {
  silent: boolean;
  agent: DestAdjustment | null;
  storage: DestAdjustment | null;
  /** Every storage problem, for status displays. */
  storageProblems: string[];
}

export function isSilent(r: AgentRecordView, now: number, silentAfter: number): boolean {
  return now - (r.lastReportAt ?? r.since) > silentAfter * r.interval * 1000;
}

/** Reference sentinel hash of each consistency group among the live agents. */
export function groupReferences(
  records: readonly AgentRecordView[],
  now: number,
  silentAfter: number,
  pinned: Readonly<Record<string, string>>,
): Map<string, GroupReference> {
  const groups = new Map<string, GroupReference>();
  for (const r of records) {
    if (!r.lastReport || isSilent(r, now, silentAfter)) continue;
    for (const m of r.lastReport.mounts) {
      if (!m.sentinelConfigured) continue;
      let g = groups.get(m.group);
      if (!g) groups.set(m.group, (g = { group: m.group, reference: null, basis: 'undecided', hashes: {} }));
      g.hashes[r.agent] = m.sentinel;
    }
  }
  for (const g of groups.values()) {
    const pin = pinned[g.group];
    if (pin !== undefined) {
      g.reference = pin;
      g.basis = 'config';
      continue;
    }
    const votes = new Map<string, number>();
    const total = Object.keys(g.hashes).length;
    for (const h of Object.values(g.hashes)) if (h !== null) votes.set(h, (votes.get(h) ?? 0) + 1);
    for (const [h, n] of votes)
      if (n * 2 > total) {
        g.reference = h;
        g.basis = 'majority';
      }
  }
  for (const [group, pin] of Object.entries(pinned)) if (!groups.has(group)) groups.set(group, { group, reference: pin, basis: 'config', hashes: {} });
  return groups;
}

export function judge(r: AgentRecordView, now: number, silentAfter: number, refs: ReadonlyMap<string, GroupReference>): AgentVerdict {
  if (isSilent(r, now, silentAfter)) {
    const reason = `agent ${r.agent} silent for ${silentAfter} intervals`;
    return { silent: true, agent: { factor: 0, reason }, storage: null, storageProblems: [] };
  }
  const rep = r.lastReport;
  if (!rep) return { silent: false, agent: null, storage: null, storageProblems: [] };
  const problems: string[] = [];
  for (const m of rep.mounts) {
    const p = mountProblem(m);
    if (p) {
      problems.push(p);
      continue;
    }
    const ref = refs.get(m.group);
    if (m.sentinelConfigured && ref?.reference && m.sentinel !== null && m.sentinel !== ref.reference)
      problems.push(`${m.path}: sentinel differs from group ${m.group} (${ref.basis})`);
  }
  const storage: DestAdjustment | null = problems.length ? { factor: 0, reason: `storage: ${problems.join('; ')}` } : null;
  let agent: DestAdjustment;
  if (rep.maintenance) agent = { factor: 0, reason: 'agent: maintenance' };
  else if (rep.service && !rep.service.ok) agent = { factor: 0, reason: `agent: service probe failed${rep.service.detail ? ` (${rep.service.detail})` : ''}` };
  else agent = { factor: rep.load.weightPct / 100, reason: loadReason(rep.load) };
  return { silent: false, agent, storage, storageProblems: problems };
}

/**
 * weightPct is the share of the configured weight the agent asks for (100 = unloaded), not its load: the reason says
 * so and carries the load figures it was computed from.
 */
function loadReason(load: LoadReport): string {
  return `agent: weight ${load.weightPct}% from load (${load.loadPerCore.toFixed(2)} per CPU, cpu ${Math.round(load.cpu * 100)}%, memory ${Math.round(load.memory * 100)}%)`;
}

/** Combine two verdicts for the same real server (two agents claim one address): the more severe factor wins. */
export function worse(a: DestAdjustment | null, b: DestAdjustment | null): DestAdjustment | null {
  if (!a) return b;
  if (!b) return a;
  return b.factor < a.factor ? b : a;
}
