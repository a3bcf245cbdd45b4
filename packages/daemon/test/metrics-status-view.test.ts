import { describe, expect, it } from 'vitest';
import { escapeHtml, renderStatusPage } from '../src/metrics/status-html.js';
import { buildStatusView } from '../src/metrics/status-view.js';
import { fixtureSnapshot, HOSTILE_AGENT } from './metrics-fixture.js';

describe('status page view', () => {
  it('gives each real server its configured and effective weight and why they differ', async () => {
    const view = buildStatusView(await fixtureSnapshot(), 5);
    const web = view.services.find((s) => s.key === 'tcp 192.0.2.10:80')!;
    const row = (n: number) => web.realServers.find((r) => r.key === `198.51.100.${n}:8080`)!;
    expect(row(1)).toMatchObject({ weight: 3, effectiveWeight: 3, state: 'serving', why: [] });
    expect(row(2)).toMatchObject({ weight: 2, effectiveWeight: 1, state: 'reduced', why: [{ source: 'agent', reason: 'agent asks for 50%' }] });
    expect(row(2).agent).toMatchObject({ name: 'web-2', weightPct: 50, loadPerCore: 0.5, ageSeconds: 0.8 });
    expect(row(3)).toMatchObject({ effectiveWeight: 0, state: 'drained', why: [{ source: 'storage', reason: '/srv/www is mounted read-only' }] });
    expect(row(4)).toMatchObject({ weight: 0, state: 'quiesced', why: [{ source: 'operator', reason: 'quiesced: configured weight 0' }] });
    const f7 = view.services.find((s) => s.key === 'fwmark 7')!;
    expect(f7.quorum).toEqual({ up: false, liveWeight: 0, quorum: 1 });
    expect(f7.realServers[0]).toMatchObject({ state: 'removed', health: { state: 'down', checker: 'TCP_CHECK' } });
    expect(f7.realServers[0]!.why[0]!.reason).toBe('TCP_CHECK: connection refused (removed from the dataplane)');
    expect(web.counters).toMatchObject({ conns: 30, connsPerSecond: 2, outBytesPerSecond: 900 });
    expect(web.activeConns).toBe(6);
  });

  it('shows both dispatchers: this node from VRRP, the peer from its adverts or from peer sync', async () => {
    const snap = await fixtureSnapshot();
    expect(buildStatusView(snap, 5).dispatchers).toEqual([
      expect.objectContaining({ which: 'this node', state: 'MASTER', priority: 150, address: '192.0.2.2', vips: ['192.0.2.10/24'] }),
      expect.objectContaining({ which: 'peer', name: 'lb2/0.0.0.0:9181', state: 'BACKUP', source: 'inferred: alive on peer sync, not advertising' }),
    ]);
    snap.vrrp = [{ ...snap.vrrp[0]!, state: 'BACKUP', masterAddress: '192.0.2.3', vipsHeld: [] }];
    expect(buildStatusView(snap, 5).dispatchers[1]).toMatchObject({ state: 'MASTER', address: '192.0.2.3', source: 'its VRRP adverts' });
    snap.vrrp = [{ ...snap.vrrp[0]!, state: 'MASTER', masterAddress: '192.0.2.2' }];
    snap.sync = { ...snap.sync!, connected: false };
    expect(buildStatusView(snap, 5).dispatchers[1]).toMatchObject({ state: 'unknown', source: 'no adverts heard, peer sync down' });
  });

  it("says on this node's row what the split-brain guard decides (quorum, votes, waiting for them)", async () => {
    const snap = await fixtureSnapshot();
    expect(buildStatusView(snap, 5).dispatchers[0]!.source).toBe("this node's VRRP instance; witness contending, votes 1/2");
    snap.vrrp = [{ ...snap.vrrp[0]!, state: 'BACKUP', contending: true }];
    expect(buildStatusView(snap, 5).dispatchers[0]!.source).toMatch(/witness contending, votes 1\/2 \(waiting for the votes to become MASTER\)$/);
    snap.witness = null;
    expect(buildStatusView(snap, 5).dispatchers[0]!.source).toBe("this node's VRRP instance");
  });

  it('escapes untrusted text (agent names, reasons) and has no script or external asset', async () => {
    const page = renderStatusPage(buildStatusView(await fixtureSnapshot(), 5));
    expect(page).not.toContain('<script');
    expect(page).not.toContain(HOSTILE_AGENT);
    expect(page).toContain(escapeHtml(HOSTILE_AGENT));
    expect(page).toContain('&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(page).toContain('<meta http-equiv="refresh" content="5">');
    expect(renderStatusPage(buildStatusView(await fixtureSnapshot(), 0))).not.toContain('http-equiv="refresh"');
  });

  it('says which source failed instead of showing its absence as fact', async () => {
    const snap = await fixtureSnapshot();
    snap.failed = { agents: 'agent hub <stopped>' };
    const page = renderStatusPage(buildStatusView(snap, 0));
    expect(page).toContain('<div class="err" id="failed-agents">agents did not answer: agent hub &lt;stopped&gt;</div>');
  });
});
