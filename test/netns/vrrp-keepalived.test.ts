import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, SEED_HOSTS, waitFor, type Lab } from '../lib/netns.js';
import { hasAddress, startKeepalived, startRunner, workDir, type Keepalived, type Runner } from '../../packages/ha/test/support/vrrp-lab.js';

const VIP = '10.77.0.100';

/**
 * keepalived (the Debian package) and vrrp-run in the same virtual router, each direction, VRRP v3 and v2.
 * Every hand-over uses a priority-0 shutdown so the tests wait Skew_Time, not Master_Down_Interval.
 */
describe.each([
  { version: 3 as const, advertInt: 0.1 },
  { version: 2 as const, advertInt: 1 },
])('interop with keepalived, VRRP v$version', ({ version, advertInt }) => {
  let lab: Lab;
  let dir: string;
  const runners: Runner[] = [];
  const kas: Keepalived[] = [];
  const ours = (host: string, priority: number) => {
    const r = startRunner(lab.host(host), dir, { interface: 'eth0', vrid: 61, priority, version, advert_int: advertInt, vips: [`${VIP}/24`] });
    runners.push(r);
    return r;
  };
  const theirs = (host: string, priority: number) => {
    const k = startKeepalived(lab.host(host), dir, { version, vrid: 61, priority, advertInt, vips: [`${VIP}/24`] });
    kas.push(k);
    return k;
  };
  const noDrops = (r: Runner) => {
    const dropped = r.lines.filter((l) => l.msg === 'VRRP packet dropped');
    expect(dropped, JSON.stringify(dropped.slice(0, 3))).toEqual([]);
  };

  beforeAll(async () => {
    lab = await createLab(SEED_HOSTS);
    dir = workDir();
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  afterEach(async () => {
    await Promise.all([...runners.splice(0).map((r) => r.stop('SIGKILL')), ...kas.splice(0).map((k) => k.stop())]);
    for (const h of ['lvs1', 'lvs2']) await lab.host(h).exec('ip', ['addr', 'flush', 'dev', 'eth0', 'to', `${VIP}/32`]);
  });

  it('keepalived master, our backup; keepalived stops and we take over', async () => {
    const ka = theirs('lvs1', 150);
    const r = ours('lvs2', 100);
    await ka.waitState('MASTER');
    await r.waitState('BACKUP');
    // We hear keepalived's adverts (the backup would otherwise have become master by now).
    await waitFor('adverts from keepalived accepted', () => r.state() === 'BACKUP' && ka.count('MASTER') === 1, 5000);
    await waitFor('VIP on keepalived host', () => hasAddress(lab.host('lvs1'), VIP));
    expect(await hasAddress(lab.host('lvs2'), VIP)).toBe(false);
    await ka.stop();
    const m = await r.waitState('MASTER', 5000);
    expect(m.reason).toBe('master-down');
    await waitFor('VIP on lvs2', () => hasAddress(lab.host('lvs2'), VIP));
    noDrops(r);
  });

  it('our master, keepalived backup; we stop with priority 0 and keepalived takes over', async () => {
    const r = ours('lvs1', 150);
    await r.waitState('MASTER');
    const ka = theirs('lvs2', 100);
    await ka.waitState('BACKUP');
    // keepalived would become master after Master_Down_Interval if it rejected our adverts.
    await new Promise((res) => setTimeout(res, advertInt * 4000 + 500));
    expect(ka.count('MASTER')).toBe(0);
    expect(r.state()).toBe('MASTER');
    expect(ka.output()).not.toMatch(/invalid|mismatch|bad checksum/i);
    await r.stop('SIGTERM');
    await ka.waitState('MASTER', 3000);
    await waitFor('VIP on keepalived host', () => hasAddress(lab.host('lvs2'), VIP));
    noDrops(r);
  });

  it('keepalived with a lower priority yields to our higher-priority node (preempt)', async () => {
    const ka = theirs('lvs1', 100);
    await ka.waitState('MASTER');
    const r = ours('lvs2', 200);
    await r.waitState('MASTER');
    await ka.waitState('BACKUP', 5000);
    noDrops(r);
  });
});
