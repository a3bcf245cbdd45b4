import { describe, expect, it } from 'vitest';
import { parseHaConfig, type HaConfigInput } from '../src/config.js';
import { createVrrpInstance, systemInterfaceInfo, type VrrpInstance } from '../src/instance.js';
import type { ReceivedPacket, VrrpTransport } from '../src/io/vrrp-socket.js';
import { FakeTimers } from './fake-timers.js';
import { FakeAddresses } from './support/fake-pair.js';

/** A shared segment: every packet reaches every other transport one tick later, as on a wire. */
class FakeSegment {
  readonly ends: { src: string; handler: (p: ReceivedPacket) => void; up: boolean }[] = [];
  readonly sent: { src: string; dst: string; payload: Buffer }[] = [];
  /** `src>dst` pairs dropped at delivery time (a firewall rule between two nodes, both links up). */
  readonly blocked = new Set<string>();
  constructor(private readonly timers: FakeTimers) {}
  transport(src: string): VrrpTransport {
    const end = { src, handler: (_p: ReceivedPacket) => {}, up: true };
    this.ends.push(end);
    return {
      send: (payload, dst) => {
        if (!end.up) return;
        this.sent.push({ src, dst, payload });
        for (const other of this.ends) {
          if (other === end || !other.up) continue;
          if (dst !== '224.0.0.18' && dst !== other.src) continue;
          this.timers.setTimeout(() => {
            if (other.up && !this.blocked.has(`${src}>${other.src}`)) other.handler({ ok: true, src, dst, ttl: 255, payload, checksumVerified: false });
          }, 1);
        }
      },
      onPacket: (h) => (end.handler = h),
      close: async () => {
        end.up = false;
      },
    };
  }
}

function node(seg: FakeSegment, timers: FakeTimers, ip: string, overrides: Partial<HaConfigInput> = {}) {
  const addresses = new FakeAddresses();
  const announced: string[] = [];
  const notified: string[][] = [];
  const links = new Map<string, boolean>([['eth0', true]]);
  const scripts = { exit: 0 };
  const config = parseHaConfig({ interface: 'eth0', vrid: 51, priority: 100, vips: ['10.77.0.100/24'], ...overrides });
  const inst = createVrrpInstance(config, {
    timers,
    openTransport: () => seg.transport(ip),
    addresses,
    openAnnouncer: () => ({ announce: (vip) => announced.push(vip), close: () => {} }),
    interfaceInfo: () => ({ ifindex: 2, primary: ip }),
    linkUp: (name) => links.get(name) ?? false,
    runCommand: async () => scripts.exit,
    notify: (script, args) => notified.push([script, ...args]),
  });
  return { inst, addresses, announced, notified, links, scripts };
}

async function flush(timers: FakeTimers, ms: number, inst: VrrpInstance[] = []): Promise<void> {
  // Advance in small steps so async VIP work and tracker samples interleave with timers as in real time.
  for (let t = 0; t < ms; t += 5) {
    timers.advance(5);
    await Promise.resolve();
    for (const i of inst) await i.settled();
  }
}

describe('VrrpInstance on a fake segment', () => {
  it('elects the higher priority, adds VIPs and sends GARPs on the master only', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 150, notify: { master: '/n.sh', backup: '/n.sh' } });
    const b = node(seg, timers, '10.77.0.12', { priority: 100 });
    const vipEvents: string[][] = [];
    a.inst.onVipsChange((held) => vipEvents.push(held));
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 1000, [a.inst, b.inst]);
    expect(vipEvents).toEqual([[], ['10.77.0.100/24']]);
    expect(a.inst.status()).toMatchObject({ state: 'MASTER', vipsHeld: ['10.77.0.100/24'], masterAddress: '10.77.0.11' });
    expect(b.inst.status()).toMatchObject({ state: 'BACKUP', vipsHeld: [], masterAddress: '10.77.0.11' });
    expect([...a.addresses.present]).toEqual(['10.77.0.100/24']);
    expect(b.addresses.present.size).toBe(0);
    expect(a.announced.length).toBe(5);
    expect(b.announced.length).toBe(0);
    expect(a.notified).toEqual([
      ['/n.sh', 'INSTANCE', 'VI_1', 'BACKUP', '150'],
      ['/n.sh', 'INSTANCE', 'VI_1', 'MASTER', '150'],
    ]);
    expect(b.inst.status().counters.advertsReceived).toBeGreaterThan(10);
    await flush(timers, 5000, [a.inst, b.inst]);
    expect(a.announced.length).toBe(10);
  });

  it('stop() on the master sends priority 0 and the backup takes over after Skew_Time', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 150 });
    const b = node(seg, timers, '10.77.0.12', { priority: 100 });
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 500, [a.inst, b.inst]);
    const stopping = a.inst.stop();
    await flush(timers, 5, [b.inst]);
    await stopping;
    expect(a.inst.status().counters.priorityZeroSent).toBe(1);
    expect(a.addresses.present.size).toBe(0);
    await flush(timers, 35, [b.inst]);
    expect(b.inst.status().state).toBe('MASTER');
    expect(b.inst.status().lastTransition).toMatchObject({ from: 'BACKUP', to: 'MASTER', reason: 'master-down' });
  });

  it('a crashed master is replaced after Master_Down_Interval (< 200 ms with the default advert_int)', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 150 });
    const b = node(seg, timers, '10.77.0.12', { priority: 100 });
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 500, [a.inst, b.inst]);
    seg.ends[0].up = false;
    const before = timers.now();
    while (b.inst.status().state !== 'MASTER' && timers.now() - before < 1000) await flush(timers, 5, [b.inst]);
    expect(timers.now() - before).toBeLessThanOrEqual(200);
  });

  it('goes FAULT when its interface goes down and back to the election when it returns', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 150, notify: { fault: '/f.sh' } });
    await a.inst.start();
    await flush(timers, 500, [a.inst]);
    expect(a.inst.status().state).toBe('MASTER');
    a.links.set('eth0', false);
    await flush(timers, 200, [a.inst]);
    expect(a.inst.status()).toMatchObject({ state: 'FAULT', vipsHeld: [] });
    expect(a.notified).toContainEqual(['/f.sh', 'INSTANCE', 'VI_1', 'FAULT', '150']);
    expect(seg.sent.at(-1)?.payload[2]).toBe(0);
    a.links.set('eth0', true);
    await flush(timers, 500, [a.inst]);
    expect(a.inst.status().state).toBe('MASTER');
  });

  it('track_script weights change the effective priority and a preempting backup takes over', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 150, track_scripts: [{ script: '/chk', interval: 0.1, weight: -100, fall: 2, rise: 2 }] });
    const b = node(seg, timers, '10.77.0.12', { priority: 100 });
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 500, [a.inst, b.inst]);
    expect(a.inst.status().state).toBe('MASTER');
    a.scripts.exit = 1;
    await flush(timers, 60, [a.inst, b.inst]);
    expect(a.inst.status().priority).toBe(150);
    await flush(timers, 500, [a.inst, b.inst]);
    expect(a.inst.status()).toMatchObject({ priority: 50, state: 'BACKUP' });
    expect(b.inst.status().state).toBe('MASTER');
    a.scripts.exit = 0;
    await flush(timers, 800, [a.inst, b.inst]);
    expect(a.inst.status()).toMatchObject({ priority: 150, state: 'MASTER' });
  });

  it('resign() and takeover() move mastership between peers and hold it', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 150 });
    const b = node(seg, timers, '10.77.0.12', { priority: 100 });
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 500, [a.inst, b.inst]);
    expect(a.inst.resign()).toBe(true);
    await flush(timers, 1000, [a.inst, b.inst]);
    expect(a.inst.status()).toMatchObject({ state: 'BACKUP', holds: { resign: true } });
    expect(b.inst.status().state).toBe('MASTER');
    expect(a.inst.takeover()).toBe(true);
    await flush(timers, 1000, [a.inst, b.inst]);
    expect(a.inst.status()).toMatchObject({ state: 'MASTER', advertisedPriority: 150 });
    expect(b.inst.status().state).toBe('BACKUP');
    // A lower-priority peer taking over advertises above the master and keeps it.
    expect(b.inst.takeover()).toBe(true);
    await flush(timers, 1000, [a.inst, b.inst]);
    expect(b.inst.status()).toMatchObject({ state: 'MASTER', advertisedPriority: 151, holds: { takeover: true } });
    expect(a.inst.status().state).toBe('BACKUP');
    b.inst.release();
    await flush(timers, 1000, [a.inst, b.inst]);
    expect(a.inst.status().state).toBe('MASTER');
  });

  it('counts dropped packets per reason and ignores them', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 100 });
    const b = node(seg, timers, '10.77.0.12', { priority: 200, vips: ['10.77.0.101/24'] });
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 500, [a.inst, b.inst]);
    // Different VIP lists: both drop each other's adverts, so both end up master (and say why).
    expect(a.inst.status().counters.dropped.addr_list).toBeGreaterThan(0);
    expect(a.inst.status().state).toBe('MASTER');
    const t = seg.transport('10.77.0.99');
    t.send(Buffer.from([0x31, 51, 200, 1]), '224.0.0.18');
    await flush(timers, 10, [a.inst]);
    expect(a.inst.status().counters.dropped.truncated).toBe(1);
  });
});

describe('VrrpInstance after a partition heals (both were MASTER)', () => {
  const A = '10.77.0.11';
  const B = '10.77.0.12';
  async function splitBrain(overrides: Partial<HaConfigInput> = {}) {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, A, { priority: 150, ...overrides });
    const b = node(seg, timers, B, { priority: 100, ...overrides });
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 500, [a.inst, b.inst]);
    seg.blocked.add(`${A}>${B}`).add(`${B}>${A}`);
    await flush(timers, 1000, [a.inst, b.inst]);
    expect([a.inst.status().state, b.inst.status().state]).toEqual(['MASTER', 'MASTER']);
    // Past the new master's second burst and the first's: only what the heal triggers counts from here.
    await flush(timers, 6000, [a.inst, b.inst]);
    return { timers, seg, a, b };
  }
  /** Heal both directions right after A sent an advert, so B hears A first (the order that needs higher_prio_send_advert). */
  async function healAfterAdvertOf(t: Awaited<ReturnType<typeof splitBrain>>, src: string) {
    const before = t.seg.sent.filter((p) => p.src === src).length;
    while (t.seg.sent.filter((p) => p.src === src).length === before) {
      t.timers.advance(1);
      await Promise.resolve();
    }
    t.seg.blocked.clear();
  }

  it('the higher-priority master re-announces its VIPs (lower_prio burst) and the other yields and drops the VIP at once', async () => {
    const t = await splitBrain({ garp: { master_refresh: 0 } });
    const { a, b, timers } = t;
    const announcedBefore = a.announced.length;
    await healAfterAdvertOf(t, A);
    const healedAt = timers.now();
    while (b.inst.status().state !== 'BACKUP' && timers.now() - healedAt < 1000) await flush(timers, 1, [a.inst, b.inst]);
    await flush(timers, 5, [a.inst, b.inst]);
    expect(b.inst.status()).toMatchObject({ state: 'BACKUP', vipsHeld: [] });
    expect(b.addresses.present.size).toBe(0);
    expect(timers.now() - healedAt).toBeLessThan(20);
    // B's last advert before yielding reached A: A sent garp.lower_prio_repeat (default master_repeat, 5) at once.
    expect(a.announced.length - announcedBefore).toBe(5);
    expect(a.inst.status()).toMatchObject({ state: 'MASTER', vipsHeld: ['10.77.0.100/24'] });
    await flush(timers, 5000, [a.inst, b.inst]);
    expect(a.announced.length - announcedBefore).toBe(10);
  });

  it('a preempting master sends its own burst once (no extra lower_prio burst for the advert of the node that yields)', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, A, { priority: 150, garp: { master_refresh: 0 } });
    const b = node(seg, timers, B, { priority: 100 });
    await b.inst.start();
    await flush(timers, 500, [b.inst]);
    expect(b.inst.status().state).toBe('MASTER');
    await a.inst.start();
    // 1 ms steps with the VIP work settled in between, so a's VIPs are up before b's yielding advert arrives.
    for (let i = 0; i < 2000 && timers.now() < 3000; i++) {
      timers.advance(1);
      await Promise.resolve();
      await a.inst.settled();
      await b.inst.settled();
    }
    expect(a.inst.status().lastTransition).toMatchObject({ from: 'BACKUP', to: 'MASTER', reason: 'master-down' });
    expect(b.inst.status()).toMatchObject({ state: 'BACKUP', vipsHeld: [] });
    expect(a.announced.length).toBe(5);
  });

  it('without higher_prio_send_advert, the master that was heard first never learns it should re-announce', async () => {
    const t = await splitBrain({ higher_prio_send_advert: false, garp: { master_refresh: 0 } });
    const announcedBefore = t.a.announced.length;
    await healAfterAdvertOf(t, A);
    await flush(t.timers, 3000, [t.a.inst, t.b.inst]);
    expect(t.b.inst.status().state).toBe('BACKUP');
    expect(t.a.announced.length - announcedBefore).toBe(0);
  });

  it('garp.lower_prio_repeat 0 turns the burst off; the master_refresh default (10 s) still re-announces', async () => {
    const t = await splitBrain({ garp: { lower_prio_repeat: 0 } });
    const announcedBefore = t.a.announced.length;
    await healAfterAdvertOf(t, B);
    await flush(t.timers, 100, [t.a.inst, t.b.inst]);
    expect(t.b.inst.status().state).toBe('BACKUP');
    expect(t.a.announced.length - announcedBefore).toBe(0);
    await flush(t.timers, 10_000, [t.a.inst, t.b.inst]);
    expect(t.a.announced.length - announcedBefore).toBe(1);
  });
});

describe('VrrpInstance and VIPs left by an earlier run', () => {
  it('removes its VIPs found on the interface before joining the election, and records held VIPs for the exit handlers', async () => {
    const { VipLedger } = await import('../src/io/vip-ledger.js');
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const released: string[] = [];
    const ledger = new VipLedger({
      removeAddresses: (e) => (released.push(...e.map((x) => x.vip)), { removed: e.map((x) => x.vip), errors: [] }),
      deleteLink: () => false,
    });
    const addresses = new FakeAddresses();
    addresses.present.add('10.77.0.100/24'); // a kill -9 of the previous vsd left it
    const config = parseHaConfig({ interface: 'eth0', vrid: 51, priority: 100, vips: ['10.77.0.100/24'] });
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const inst = createVrrpInstance(config, {
      timers,
      logger: pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
      ledger,
      openTransport: () => seg.transport('10.77.0.11'),
      addresses,
      openAnnouncer: () => ({ announce: () => {}, close: () => {} }),
      interfaceInfo: () => ({ ifindex: 2, primary: '10.77.0.11' }),
      linkUp: () => true,
      runCommand: async () => 0,
      notify: () => {},
    });
    await inst.start();
    expect(addresses.log[0]).toBe('del 10.77.0.100/24');
    expect(inst.status().state).toBe('BACKUP');
    expect(addresses.present.size).toBe(0);
    expect(lines.find((l) => l.msg === 'removed leftover VIPs of an earlier run before joining the election')).toMatchObject({ vips: ['10.77.0.100/24'] });
    expect(ledger.size).toBe(0);
    await flush(timers, 500, [inst]);
    expect(inst.status().state).toBe('MASTER');
    expect(ledger.size).toBe(1);
    const stopping = inst.stop();
    await flush(timers, 10, [inst]);
    await stopping;
    expect(ledger.size).toBe(0);
    expect(released).toEqual([]);
  });
});

describe('VrrpInstance errors', () => {
  it('an interface without the address VRRP sends from is an InterfaceError naming it', () => {
    // lo has 127.0.0.1 (a VIP here, so excluded) and ::1, which is no link-local address.
    expect(() => systemInterfaceInfo('lo', 4, ['127.0.0.1'])).toThrow(
      expect.objectContaining({
        code: 'VSD_ERR_INTERFACE',
        message: 'interface lo: has no IPv4 address besides the VIPs (VRRP sends its adverts from it)',
        details: expect.objectContaining({ interface: 'lo', family: 4 }),
      }),
    );
    expect(() => systemInterfaceInfo('lo', 6, [])).toThrow(
      expect.objectContaining({ code: 'VSD_ERR_INTERFACE', message: 'interface lo: has no IPv6 link-local address (VRRP sends its adverts from it)' }),
    );
  });

  it('start() twice is a bug of the caller: an InternalError', async () => {
    const timers = new FakeTimers();
    const { inst } = node(new FakeSegment(timers), timers, '10.77.0.11');
    await inst.start();
    await expect(inst.start()).rejects.toMatchObject({ code: 'VSD_ERR_INTERNAL', message: 'internal error (a bug in vsd): VRRP instance VI_1 started twice' });
    const stopping = inst.stop();
    await flush(timers, 10, [inst]);
    await stopping;
  });
});

describe('VrrpInstance with use_vmac', () => {
  it('puts the VIPs on the macvlan with the RFC virtual MAC, announces from it, and deletes it on stop', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const adds: string[] = [];
    const addresses = new FakeAddresses();
    const orig = addresses.add.bind(addresses);
    addresses.add = async (vip: string, ifindex: number) => (adds.push(`${vip}@${ifindex}`), orig(vip));
    const opened: unknown[] = [];
    const closed: string[] = [];
    const announcers: string[] = [];
    const inst = createVrrpInstance(parseHaConfig({ interface: 'eth0', vrid: 51, priority: 100, vips: ['10.77.0.100/24'], use_vmac: true }), {
      timers,
      openTransport: () => seg.transport('10.77.0.11'),
      addresses,
      openVmac: (o) => (opened.push({ ...o, mac: [...o.mac] }), { name: o.name, ifindex: 9, close: () => closed.push(o.name) }),
      openAnnouncer: (ifname, ifindex) => (announcers.push(`${ifname}@${ifindex}`), { announce: () => {}, close: () => {} }),
      interfaceInfo: () => ({ ifindex: 2, primary: '10.77.0.11' }),
      linkUp: () => true,
      runCommand: async () => 0,
      notify: () => {},
    });
    await inst.start();
    expect(opened).toEqual([{ name: 'vsd.51', parent: 'eth0', parentIndex: 2, mac: [0, 0, 0x5e, 0, 1, 51], mode: 'private', family: 4 }]);
    expect(announcers).toEqual(['vsd.51@9']);
    await flush(timers, 500, [inst]);
    expect(inst.status().state).toBe('MASTER');
    expect(adds).toEqual(['10.77.0.100/24@9']);
    const stopping = inst.stop();
    await flush(timers, 10, [inst]);
    await stopping;
    expect(closed).toEqual(['vsd.51']);
    expect(parseHaConfig({ interface: 'eth0', vrid: 7, vips: ['fd00::1/64'], use_vmac: true }).useVmac).toBe(true);
    const { vmacName, virtualMac } = await import('../src/config.js');
    expect(vmacName(parseHaConfig({ interface: 'eth0', vrid: 7, vips: ['fd00::1/64'], use_vmac: true }))).toBe('vsd6.7');
    expect(vmacName(parseHaConfig({ interface: 'eth0', vrid: 7, vips: ['10.0.0.1/24'], use_vmac: 'vip0' }))).toBe('vip0');
    expect([...virtualMac(7, 6)]).toEqual([0, 0, 0x5e, 0, 2, 7]);
    expect(() => parseHaConfig({ interface: 'eth0', vrid: 7, vips: ['10.0.0.1/24'], use_vmac: 'eth0' })).toThrow(/ha\.use_vmac/);
    expect(() => parseHaConfig({ interface: 'eth0', vrid: 7, vips: ['10.0.0.1/24'], use_vmac: 'a/b' })).toThrow(/ha\.use_vmac/);
  });
});

describe('VrrpInstance receive path under garbage', () => {
  it('5,000 random and mutated packets from the segment never throw, are counted, and do not move the election', async () => {
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel');
    const { VRRP_STATE_CHANNEL } = await import('../src/instance.js');
    const published: unknown[] = [];
    const onState = (m: unknown) => published.push(m);
    subscribe(VRRP_STATE_CHANNEL, onState);
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const a = node(seg, timers, '10.77.0.11', { priority: 150 });
    const b = node(seg, timers, '10.77.0.12', { priority: 100 });
    await a.inst.start();
    await b.inst.start();
    await flush(timers, 500, [a.inst, b.inst]);
    const attacker = seg.transport('10.77.0.66');
    let s = 12345;
    const rand = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const valid = seg.sent.find((p) => p.src === '10.77.0.11')!.payload;
    for (let i = 0; i < 5000; i++) {
      const p = i % 2 ? Buffer.from(valid) : Buffer.alloc(Math.floor(rand() * 64));
      for (let j = 0; j < (i % 2 ? 1 + Math.floor(rand() * 3) : p.length); j++) p[Math.floor(rand() * p.length)] = Math.floor(rand() * 256);
      if (i % 2 && p[2] !== 0) p[2] = Math.min(p[2], 149); // never a legitimate higher priority: the election must hold
      attacker.send(p, '224.0.0.18');
      if (i % 100 === 0) await flush(timers, 5, [a.inst, b.inst]);
    }
    await flush(timers, 500, [a.inst, b.inst]);
    const dropped = Object.values(b.inst.status().counters.dropped).reduce((x, y) => x + (y ?? 0), 0);
    expect(dropped).toBeGreaterThan(4000);
    expect(b.inst.status().counters.errors).toBe(0);
    expect(a.inst.status().state).toBe('MASTER');
    expect(b.inst.status().state).toBe('BACKUP');
    unsubscribe(VRRP_STATE_CHANNEL, onState);
    expect(published).toContainEqual(expect.objectContaining({ instance: 'VI_1', vrid: 51, to: 'MASTER' }));
  });
});

describe('VrrpInstance start while the source address is not usable yet', () => {
  it('waits (logging why) while binding the source fails with EADDRNOTAVAIL, then starts; other errors fail at once', async () => {
    const timers = new FakeTimers();
    const seg = new FakeSegment(timers);
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const { SyscallError } = await import('@vsd/core');
    let attempts = 0;
    const config = parseHaConfig({ interface: 'eth0', vrid: 51, priority: 100, vips: ['fd00:77::100/64'] });
    const deps = {
      timers,
      logger,
      addresses: new FakeAddresses(),
      openAnnouncer: () => ({ announce: () => {}, close: () => {} }),
      interfaceInfo: () => ({ ifindex: 2, primary: 'fe80::1' }),
      linkUp: () => true,
      runCommand: async () => 0,
      notify: () => {},
    };
    const inst = createVrrpInstance(config, {
      ...deps,
      openTransport: () => {
        if (++attempts < 3) throw new SyscallError('bind', 99);
        return seg.transport('fe80::1');
      },
    });
    await inst.start();
    expect(attempts).toBe(3);
    expect(lines.some((l) => l.msg === 'VRRP source address not usable yet; waiting' && String(l.reason).includes('tentative'))).toBe(true);
    expect(lines.some((l) => l.msg === 'VRRP source address usable')).toBe(true);
    await inst.stop();

    const other = createVrrpInstance(config, {
      ...deps,
      openTransport: () => {
        throw new SyscallError('socket', 1);
      },
    });
    await expect(other.start()).rejects.toThrow(/socket/);
  });
});
