import { describe, expect, it } from 'vitest';
import { config, FakeSegment, fakeNode, FakeTimers, run, states } from './support/fake-pair.js';

const base = { instance: 'VI_1', vrid: 51, vips: ['10.77.0.100/24'] };

async function pair(a: object = {}, b: object = {}) {
  const timers = new FakeTimers();
  const seg = new FakeSegment(timers);
  const n1 = fakeNode(seg, timers, '10.77.0.11');
  const n2 = fakeNode(seg, timers, '10.77.0.12');
  const i1 = n1.add({ ...base, priority: 150, ...a });
  const i2 = n2.add({ ...base, priority: 100, ...b });
  await i1.start();
  await i2.start();
  await run(timers, 500, [n1, n2]);
  expect(states(n1)).toEqual({ VI_1: 'MASTER' });
  expect(states(n2)).toEqual({ VI_1: 'BACKUP' });
  n1.transitions.length = 0;
  n2.transitions.length = 0;
  n1.addresses.log.length = 0;
  n1.announced.length = 0;
  return { timers, n1, n2, i1, i2 };
}

describe('VrrpInstance.reconfigure (reload in place)', () => {
  it('on the MASTER: a new priority and an added VIP without a transition; only the new VIP is added and announced', async () => {
    const { timers, n1, n2, i1, i2 } = await pair();
    const changed = await i1.reconfigure(config({ ...base, priority: 200, vips: ['10.77.0.100/24', '10.77.0.101/24'] }));
    expect(changed.sort()).toEqual(['priority', 'vips']);
    await run(timers, 1000, [n1, n2]);
    expect(n1.transitions).toEqual([]);
    expect(n2.transitions).toEqual([]);
    expect(n1.addresses.log).toEqual(['add 10.77.0.101/24']);
    expect([...n1.addresses.present].sort()).toEqual(['10.77.0.100/24', '10.77.0.101/24']);
    expect(new Set(n1.announced)).toEqual(new Set(['10.77.0.101/24']));
    expect(i1.status()).toMatchObject({ state: 'MASTER', basePriority: 200, priority: 200, vipsHeld: ['10.77.0.100/24', '10.77.0.101/24'] });
    // The BACKUP still has one VIP configured: it follows the known master's adverts (skip_check_adv_addr) instead of taking over.
    expect(i2.status()).toMatchObject({ state: 'BACKUP', masterAddress: '10.77.0.11' });
    expect(i2.status().counters.dropped.addr_count ?? 0).toBe(0);
    // Then the BACKUP is reloaded the same way: still no transition anywhere.
    await i2.reconfigure(config({ ...base, priority: 100, vips: ['10.77.0.100/24', '10.77.0.101/24'] }));
    await run(timers, 500, [n1, n2]);
    expect([...n1.transitions, ...n2.transitions]).toEqual([]);
    expect(n2.addresses.present.size).toBe(0);
  });

  it('with skip_check_adv_addr off, the BACKUP drops the master adverts with another VIP list and takes over (why it is on)', async () => {
    const { timers, n1, n2, i1 } = await pair({}, { skip_check_adv_addr: false });
    await i1.reconfigure(config({ ...base, priority: 150, vips: ['10.77.0.100/24', '10.77.0.101/24'] }));
    await run(timers, 500, [n1, n2]);
    expect(states(n2)).toEqual({ VI_1: 'MASTER' });
    expect(n2.instances.get('VI_1')!.status().counters.dropped.addr_count).toBeGreaterThan(0);
  });

  it('on the MASTER: a removed VIP is removed alone; the kept one never leaves', async () => {
    const { timers, n1, n2, i1 } = await pair({ vips: ['10.77.0.100/24', '10.77.0.101/24'] }, { vips: ['10.77.0.100/24', '10.77.0.101/24'] });
    n1.addresses.log.length = 0;
    await i1.reconfigure(config({ ...base, priority: 150, vips: ['10.77.0.100/24'] }));
    await run(timers, 500, [n1, n2]);
    expect(n1.addresses.log).toEqual(['del 10.77.0.101/24']);
    expect(i1.status()).toMatchObject({ state: 'MASTER', vipsHeld: ['10.77.0.100/24'] });
    expect(n2.transitions).toEqual([]);
    // The refreshes (garp.master_refresh) announce the new list: never the VIP this node gave up.
    n1.announced.length = 0;
    await run(timers, 11_000, [n1, n2]);
    expect(new Set(n1.announced)).toEqual(new Set(['10.77.0.100/24']));
  });

  it('a lower priority on the MASTER lets a preempting BACKUP take over, as the new config says', async () => {
    const { timers, n1, n2, i1 } = await pair();
    await i1.reconfigure(config({ ...base, priority: 50 }));
    await run(timers, 500, [n1, n2]);
    expect(states(n1)).toEqual({ VI_1: 'BACKUP' });
    expect(states(n2)).toEqual({ VI_1: 'MASTER' });
  });

  it('a new advert_int is advertised at once and the BACKUP follows it (v3 learns the master interval)', async () => {
    const { timers, n1, n2, i1, i2 } = await pair();
    await i1.reconfigure(config({ ...base, priority: 150, advert_int: 0.2 }));
    await run(timers, 1000, [n1, n2]);
    expect(i1.status()).toMatchObject({ state: 'MASTER', advertIntervalCs: 20 });
    expect(i2.status()).toMatchObject({ state: 'BACKUP', masterAdverIntervalCs: 20 });
    const sent = i1.status().counters.advertsSent;
    await run(timers, 1000, [n1, n2]);
    expect(i1.status().counters.advertsSent - sent).toBe(5);
    expect([...n1.transitions, ...n2.transitions]).toEqual([]);
  });

  it('keeps an unchanged track script running (its fall count is not reset) and starts a new one', async () => {
    const chk = { script: '/chk', interval: 0.1, weight: -100, fall: 3, rise: 1 };
    const { timers, n1, n2, i1 } = await pair({ track_scripts: [chk] });
    n1.scripts.set('/chk', 1);
    const failing = () => n1.runs.filter((r) => r === '/chk').length - runsBefore;
    const runsBefore = n1.runs.filter((r) => r === '/chk').length;
    while (failing() < 2) await run(timers, 5, [n1, n2]);
    expect(i1.status().priority).toBe(150);
    await i1.reconfigure(config({ ...base, priority: 150, track_scripts: [chk, { script: '/chk2', interval: 0.1, weight: -10 }] }));
    while (i1.status().priority === 150 && failing() < 10) await run(timers, 5, [n1, n2]);
    // The third failing run of the kept tracker fails it; a fresh tracker would have needed three more.
    expect(failing()).toBe(3);
    expect(i1.status().priority).toBe(50);
    expect(n1.runs).toContain('/chk2');
    await run(timers, 500, [n1, n2]);
    expect(states(n2)).toEqual({ VI_1: 'MASTER' });
  });

  it('refuses a change of VRID, interface, version, VIP family or unicast mode, and changes nothing', async () => {
    const { timers, n1, n2, i1 } = await pair();
    const before = i1.status();
    for (const bad of [
      { vrid: 52 },
      { interface: 'eth1' },
      { version: 2, advert_int: 1 },
      { vips: ['fd00::100/64'] },
      { unicast_peers: ['10.77.0.12'] },
      { instance: 'VI_2' },
    ])
      await expect(i1.reconfigure(config({ ...base, priority: 200, ...bad } as never))).rejects.toThrow(/cannot change in place/);
    await expect(i1.reconfigure(config({ ...base, vrid: 52 }))).rejects.toMatchObject({
      code: 'VSD_ERR_HA_RELOAD',
      message: 'reload refused for VRRP instance VI_1: vrid cannot change in place (51 -> 52); the running configuration stays',
      details: { instance: 'VI_1', field: 'vrid' },
    });
    await run(timers, 200, [n1, n2]);
    expect(i1.status()).toMatchObject({ state: 'MASTER', basePriority: before.basePriority, vrid: 51, vipsHeld: before.vipsHeld });
  });

  it('answers with the keys of vsd.yaml that changed, not the names of the parsed options', async () => {
    const { i1 } = await pair();
    const changed = await i1.reconfigure(
      config({ ...base, priority: 150, preempt_delay: 2, track_interval: 0.2, garp: { master_refresh: 5 }, skip_check_adv_addr: false }),
    );
    expect(changed.sort()).toEqual(['garp', 'preempt_delay', 'skip_check_adv_addr', 'track_interval']);
  });

  it('an unchanged config changes nothing', async () => {
    const { i1 } = await pair();
    expect(await i1.reconfigure(config({ ...base, priority: 150 }))).toEqual([]);
  });
});
