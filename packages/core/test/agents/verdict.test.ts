import { describe, expect, it } from 'vitest';
import { groupReferences, isSilent, judge, type AgentRecordView } from '../../src/agents/verdict.js';
import { mount, report } from './fixtures.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function rec(agent: string, over: Partial<AgentRecordView> = {}): AgentRecordView {
  return { agent, addresses: ['10.0.0.1'], interval: 1, since: 0, lastReportAt: 1000, lastReport: report(), ...over };
}

describe('agent verdicts', () => {
  it('applies the reported weight percentage and no storage factor when healthy', () => {
    const v = judge(rec('w1', { lastReport: report({ load: { ...report().load, weightPct: 40 } }) }), 1500, 3, new Map());
    expect(v).toEqual({
      silent: false,
      agent: { factor: 0.4, reason: 'agent: weight 40% from load (0.10 per CPU, cpu 10%, memory 30%)' },
      storage: null,
      storageProblems: [],
    });
  });

  it('drains for broken storage, failed service probe and maintenance', () => {
    const broken = judge(rec('w1', { lastReport: report({ mounts: [mount({ present: false })] }) }), 1500, 3, new Map());
    expect(broken.storage).toEqual({ factor: 0, reason: 'storage: /srv/www is not mounted' });
    const svc = judge(rec('w1', { lastReport: report({ service: { ok: false, detail: 'HTTP 503', ms: 2 } }) }), 1500, 3, new Map());
    expect(svc.agent).toEqual({ factor: 0, reason: 'agent: service probe failed (HTTP 503)' });
    const maint = judge(rec('w1', { lastReport: report({ maintenance: true }) }), 1500, 3, new Map());
    expect(maint.agent?.factor).toBe(0);
  });

  it('counts silence in the agent’s own intervals, from authentication before the first report', () => {
    expect(isSilent(rec('w1', { interval: 0.5, lastReportAt: 1000 }), 2500, 3)).toBe(false);
    expect(isSilent(rec('w1', { interval: 0.5, lastReportAt: 1000 }), 2501, 3)).toBe(true);
    expect(isSilent(rec('w1', { since: 0, lastReportAt: null, lastReport: null }), 3001, 3)).toBe(true);
    const v = judge(rec('w1', { lastReportAt: 0 }), 10_000, 3, new Map());
    expect(v).toMatchObject({ silent: true, agent: { factor: 0 } });
    expect(judge(rec('w1', { lastReport: null, lastReportAt: null, since: 9000 }), 10_000, 3, new Map()).agent).toBeNull();
  });
});

describe('sentinel consistency', () => {
  const withHash = (agent: string, h: string | null) => rec(agent, { lastReport: report({ mounts: [mount({ sentinel: h })] }) });

  it('drains the minority when a strict majority agrees', () => {
    const recs = [withHash('w1', A), withHash('w2', A), withHash('w3', B)];
    const refs = groupReferences(recs, 1500, 3, {});
    expect(refs.get('nfs1:/export')).toMatchObject({ reference: A, basis: 'majority' });
    expect(judge(recs[0]!, 1500, 3, refs).storage).toBeNull();
    expect(judge(recs[2]!, 1500, 3, refs).storage?.reason).toBe('storage: /srv/www: sentinel differs from group nfs1:/export (majority)');
  });

  it('drains nobody for consistency when there is no strict majority', () => {
    const recs = [withHash('w1', A), withHash('w2', B)];
    const refs = groupReferences(recs, 1500, 3, {});
    expect(refs.get('nfs1:/export')).toMatchObject({ reference: null, basis: 'undecided' });
    expect(recs.map((r) => judge(r, 1500, 3, refs).storage)).toEqual([null, null]);
  });

  it('prefers the hash pinned in the dispatcher config', () => {
    const recs = [withHash('w1', A), withHash('w2', A), withHash('w3', B)];
    const refs = groupReferences(recs, 1500, 3, { 'nfs1:/export': B });
    expect(judge(recs[0]!, 1500, 3, refs).storage?.factor).toBe(0);
    expect(judge(recs[2]!, 1500, 3, refs).storage).toBeNull();
  });

  it('leaves silent agents out of the vote', () => {
    const recs = [withHash('w1', A), withHash('w2', B), rec('w3', { lastReportAt: 0, lastReport: report({ mounts: [mount({ sentinel: B })] }) })];
    expect(groupReferences(recs, 3500, 3, {}).get('nfs1:/export')?.basis).toBe('undecided');
  });
});
