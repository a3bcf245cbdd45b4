import { describe, expect, it } from 'vitest';
import {
  assertSupported,
  createMhScheduler,
  createSchedDest,
  createScheduler,
  createXdpDataplane,
  cycleLength,
  fwmarkServiceSchema,
  hash32,
  inetServiceSchema,
  UnsupportedByDataplaneError,
  type DesiredState,
} from '@vsd/core';
import { mhRing, sequenceRing, shRing } from '../../../src/dataplane/xdp/rings.js';
import { VSD_DEST_NONE } from '../../../src/dataplane/xdp/layout.js';

function state(services: unknown[]): DesiredState {
  return { version: 1, generation: 0, services: services as DesiredState['services'], timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, syncDaemons: [] };
}

const svc = (over: Record<string, unknown> = {}, rs: Record<string, unknown> = {}) =>
  inetServiceSchema.parse({
    protocol: 'tcp',
    address: '10.0.0.1',
    port: 80,
    scheduler: 'rr',
    realServers: [{ address: '10.0.1.1', port: 80, forwarding: 'route', ...rs }],
    ...over,
  });

describe('xdp dataplane validation (no kernel needed)', () => {
  const dp = createXdpDataplane({ iface: 'eth0' });

  it('accepts DR and TUN with rr, wrr, mh, sh and dh', () => {
    for (const scheduler of ['rr', 'wrr', 'mh', 'sh', 'dh'])
      for (const forwarding of ['route', 'tunnel']) expect(() => assertSupported(dp, state([svc({ scheduler }, { forwarding })]))).not.toThrow();
  });

  it('refuses NAT, saying NAT stays on proxy/ipvs', () => {
    const err = (() => {
      try {
        assertSupported(dp, state([svc({}, { forwarding: 'masq' })]));
      } catch (e) {
        return e as UnsupportedByDataplaneError;
      }
    })();
    expect(err).toBeInstanceOf(UnsupportedByDataplaneError);
    expect(err!.code).toBe('VSD_ERR_UNSUPPORTED_BY_DATAPLANE');
    expect(err!.message).toBe('the xdp dataplane cannot do NAT (masquerading, -m) to 10.0.1.1; use the proxy or ipvs dataplane');
  });

  it('refuses schedulers that need live connection counts, naming the scheduler and the dataplane', () => {
    for (const scheduler of ['lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr', 'fo', 'ovf', 'twos'])
      expect(() => assertSupported(dp, state([svc({ scheduler })]))).toThrow(new RegExp(`^the xdp dataplane cannot do the ${scheduler} scheduler`));
  });

  it('refuses what the program does not implement', () => {
    expect(() => assertSupported(dp, state([svc({ persistence: { timeout: 300 } })]))).toThrow(/persistence/);
    expect(() => assertSupported(dp, state([svc({ scheduler: 'mh', schedFlags: ['mh-fallback'] })]))).toThrow(/mh-fallback/);
    expect(() => assertSupported(dp, state([svc({ protocol: 'sctp' })]))).toThrow(/SCTP/);
    expect(() => assertSupported(dp, state([svc({ scheduler: 'sh', schedFlags: ['sh-fallback'] })]))).toThrow(/sh-fallback/);
    expect(() => assertSupported(dp, state([fwmarkServiceSchema.parse({ fwmark: 1 })]))).toThrow(/firewall-mark/);
    expect(() => assertSupported(dp, state([svc({ address: '2001:db8::1' }, { address: '2001:db8::2', forwarding: 'tunnel' })]))).toThrow(/IPv6/);
    expect(() => assertSupported(dp, state([svc({}, { upperThreshold: 10 })]))).toThrow(/thresholds/);
    expect(() => assertSupported(dp, state([svc({}, { forwarding: 'tunnel', tunnel: { type: 'gre' } })]))).toThrow(/gre tunnels/);
    expect(() => assertSupported(dp, state([svc({}, { forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, csum: 'csum' } })]))).toThrow(/GUE checksums/);
    expect(() => assertSupported(dp, state([svc({}, { forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } })]))).not.toThrow();
  });

  it('builds an rr/wrr ring that is one cycle of the TS scheduler, and an mh ring equal to its table', () => {
    const dests = [5, 3, 0, 2].map((weight, i) => createSchedDest({ address: `10.0.1.${i + 1}`, port: 80, weight }));
    const indexOf = (d: { key: string }) => dests.findIndex((x) => x.key === d.key);
    for (const name of ['rr', 'wrr'] as const) {
      const ring = sequenceRing(name, dests, indexOf);
      expect(ring.slots.length).toBe(cycleLength(name, dests));
      const ts = createScheduler(name);
      ts.update(dests);
      const packet = { saddr: 0, sport: 0, daddr: 0, dport: 0 };
      for (let i = 0; i < 3 * ring.slots.length; i++) expect(ring.slots[i % ring.slots.length]).toBe(indexOf(ts.pick(packet)!));
    }
    expect(cycleLength('wrr', dests)).toBe(10);
    const mh = createMhScheduler();
    const ring = mhRing(createMhScheduler(), [], dests, indexOf);
    mh.update(dests);
    expect([...ring.slots]).toEqual(mh.lookupTable().map((d) => (d ? indexOf(d) : VSD_DEST_NONE)));
  });

  it('builds an sh ring whose bucket b answers what the TS sh answers for a source hashing to b', () => {
    const dests = [3, 1, 0, 2].map((weight, i) => createSchedDest({ address: `10.0.1.${i + 1}`, port: 80, weight }));
    const indexOf = (d: { key: string }) => dests.findIndex((x) => x.key === d.key);
    const ring = shRing([], dests, indexOf);
    expect(ring.slots.length).toBe(256);
    const sh = createScheduler('sh');
    sh.update(dests);
    for (let i = 0; i < 2000; i++) {
      const saddr = (Math.imul(i, 2654435761) ^ 0x0a000000) >>> 0;
      const d = sh.pick({ saddr, sport: 0, daddr: 0, dport: 0 });
      expect(ring.slots[hash32(saddr, 8)]).toBe(d ? indexOf(d) : VSD_DEST_NONE);
    }
    expect(new Set(ring.slots).has(2)).toBe(false); // weight 0: its bucket answers none
  });

  it('says it is not started rather than failing obscurely', async () => {
    await expect(dp.status()).rejects.toThrow(/xdp dataplane on eth0: the xdp dataplane is not started/);
  });
});
