// The xdp dataplane's BPF program under BPF_PROG_TEST_RUN: crafted frames in, verdict and rewritten frame out.
// No interface is attached; the test enters a lab host's namespace so that bpf_fib_lookup resolves real servers
// there (permanent neighbours with the lab's known MACs). Needs root and BPF, like the rest of the tier.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMhScheduler,
  foldAddress,
  createScheduler,
  createSchedDest,
  createXdpDataplane,
  interfaceIndex,
  XDP_DROP,
  XDP_PASS,
  XDP_TX,
  XdpLoadError,
  XdpProgram,
  type DataplaneService,
  type SchedDest,
  type XdpDataplane,
} from '@vsd/core';
import { createLab, requireRoot, type Lab } from '../lib/netns.js';
import { enterNetns, frame, frame6, ipAt, ipv4Checksum, macAt, serviceEntry } from './xdp-helpers.js';

const VIP = '10.77.0.100';
const CLIENT_MAC = '02:77:00:00:00:aa';
let lab: Lab;
let leave: (() => void) | undefined;
let dp: XdpDataplane;
let ifindex = 0;
let lbMac = '';
const macToHost = new Map<string, string>();

beforeAll(async () => {
  requireRoot();
  lab = await createLab([
    { name: 'lb', address: '10.77.0.11/24' },
    { name: 'web1', address: '10.77.0.21/24' },
    { name: 'web2', address: '10.77.0.22/24' },
    { name: 'web3', address: '10.77.0.23/24' },
  ]);
  const lb = lab.host('lb');
  lbMac = lb.mac;
  for (const name of ['web1', 'web2', 'web3']) {
    const h = lab.host(name);
    macToHost.set(h.mac, h.ip);
    execFileSync('ip', ['-n', lb.ns, 'neigh', 'replace', h.ip, 'lladdr', h.mac, 'dev', 'eth0', 'nud', 'permanent']);
  }
  // The same hosts over IPv6 (nodad: usable at once).
  execFileSync('ip', ['-n', lb.ns, 'addr', 'add', 'fd00:77::11/64', 'dev', 'eth0', 'nodad']);
  for (const [i, name] of ['web1', 'web2', 'web3'].entries()) {
    const h = lab.host(name);
    macToHost.set(`v6 ${h.mac}`, `fd00:77::${21 + i}`);
    execFileSync('ip', ['-n', lb.ns, 'neigh', 'replace', `fd00:77::${21 + i}`, 'lladdr', h.mac, 'dev', 'eth0', 'nud', 'permanent']);
  }
  // A tunnelled real server elsewhere, reached through web3 as the gateway.
  execFileSync('ip', ['-n', lb.ns, 'route', 'add', '10.88.0.0/24', 'via', '10.77.0.23']);
  leave = enterNetns(lb.ns);
  ifindex = interfaceIndex('eth0');
  dp = createXdpDataplane({ iface: 'eth0', attach: false, neighbourRefreshMs: 0 });
  await dp.start();
});

afterAll(async () => {
  await dp?.close();
  leave?.();
  await lab?.destroy();
});

function run(f: Buffer): { verdict: number; out: Buffer } {
  const r = dp.program!.testRun(f, ifindex);
  return { verdict: r.retval, out: r.data };
}

function tcp(src: string, sport: number, dport = 80, flags = 0x02): Buffer {
  return frame({ dstMac: lbMac, srcMac: CLIENT_MAC, src, dst: VIP, sport, dport, protocol: 'tcp', flags });
}

/** The real server a frame went to (by its new destination MAC), after checking it was sent back out. */
function pickedBy(f: Buffer): string {
  const { verdict, out } = run(f);
  expect(verdict).toBe(XDP_TX);
  expect(macAt(out, 6)).toBe(lbMac);
  const host = macToHost.get(macAt(out, 0));
  expect(host).toBeDefined();
  return host!;
}

/** The same destinations as plain SchedDests in the kernel's list order (newest first), for the TS schedulers. */
function schedList(entry: DataplaneService): SchedDest[] {
  return [...entry.dests].reverse().map((d) => createSchedDest({ address: d.address, port: d.port, weight: d.effectiveWeight }));
}

describe('xdp program (BPF_PROG_TEST_RUN)', () => {
  it('passes traffic that is not for a virtual service untouched', async () => {
    await dp.reconcile([serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, [{ address: '10.77.0.21', port: 80 }])]);
    const others = [
      tcp('10.77.0.2', 1000, 443),
      frame({ dstMac: lbMac, src: '10.77.0.2', dst: '10.77.0.11', sport: 1, dport: 80, protocol: 'tcp' }),
      frame({ dstMac: lbMac, src: '10.77.0.2', dst: VIP, sport: 1, dport: 80, protocol: 'udp' }),
      Buffer.concat([Buffer.from('ffffffffffff02770000aaaa0806', 'hex'), Buffer.alloc(28)]),
      Buffer.concat([Buffer.from('ffffffffffff02770000aaaa88b5', 'hex'), Buffer.alloc(46)]),
    ];
    for (const f of others) {
      const { verdict, out } = run(f);
      expect(verdict).toBe(XDP_PASS);
      expect(out.equals(f)).toBe(true);
    }
  });

  it('forwards DR by rewriting only the MACs (XDP_TX on the same interface)', async () => {
    const f = tcp('10.77.0.2', 40000);
    const { verdict, out } = run(f);
    expect(verdict).toBe(XDP_TX);
    expect(macAt(out, 0)).toBe(lab.host('web1').mac);
    expect(macAt(out, 6)).toBe(lbMac);
    expect(out.subarray(12).equals(f.subarray(12))).toBe(true);
  });

  it('picks like the TS rr and wrr schedulers, one new flow at a time', async () => {
    for (const [scheduler, weights] of [
      ['rr', [1, 1, 1]],
      ['wrr', [3, 2, 1]],
      ['wrr', [4, 0, 6]],
    ] as const) {
      const entry = serviceEntry(
        { protocol: 'tcp', address: VIP, port: 80, scheduler },
        ['10.77.0.21', '10.77.0.22', '10.77.0.23'].map((address, i) => ({ address, port: 80, weight: weights[i] })),
      );
      await dp.reconcile([]);
      await dp.reconcile([entry]);
      const ts = createScheduler(scheduler);
      ts.update(schedList(entry));
      const packet = { saddr: 0, sport: 0, daddr: 0, dport: 0 };
      for (let i = 0; i < 40; i++) {
        const want = ts.pick(packet)!.address;
        expect(pickedBy(tcp(`10.66.${scheduler.length}.${i + 1}`, 2000 + i + weights[0]! * 100))).toBe(want);
      }
    }
  });

  it('picks like the TS mh scheduler (same hsiphash, same Maglev table), with and without mh-port', async () => {
    for (const flags of [[], ['mh-port']]) {
      const entry = serviceEntry(
        { protocol: 'tcp', address: VIP, port: 80, scheduler: 'mh', schedFlags: flags },
        ['10.77.0.21', '10.77.0.22', '10.77.0.23'].map((address, i) => ({ address, port: 80, weight: [5, 3, 2][i] })),
      );
      await dp.reconcile([]);
      await dp.reconcile([entry]);
      const ts = createMhScheduler({ flags: flags as ['mh-port'] });
      ts.update(schedList(entry));
      const seen = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const a = (0x0a000000 + ((i * 2654435761) >>> 8)) >>> 0;
        const src = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
        const sport = 1024 + ((i * 7919) % 60000);
        const want = ts.pick({ saddr: a, sport, daddr: 0, dport: 80 })!.address;
        // Every other flow starts mid-connection (an ACK, as after moving from another dispatcher): scheduled the same.
        const got = pickedBy(tcp(src, sport, 80, i % 2 === 0 ? 0x02 : 0x10));
        expect(got).toBe(want);
        seen.add(got);
      }
      expect(seen.size).toBe(3);
    }
  });

  it('picks like the TS sh scheduler (hash_32 of the source, with and without sh-port), and dh sends a service to one', async () => {
    for (const flags of [[], ['sh-port']]) {
      const entry = serviceEntry(
        { protocol: 'tcp', address: VIP, port: 80, scheduler: 'sh', schedFlags: flags },
        ['10.77.0.21', '10.77.0.22', '10.77.0.23'].map((address, i) => ({ address, port: 80, weight: [3, 1, 2][i] })),
      );
      await dp.reconcile([]);
      await dp.reconcile([entry]);
      const ts = createScheduler('sh', { flags: flags as ['sh-port'] });
      ts.update(schedList(entry));
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const a = (0x0b000000 + ((i * 2246822519) >>> 8)) >>> 0;
        const src = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
        const sport = 1024 + ((i * 104729) % 60000);
        const got = pickedBy(tcp(src, sport));
        expect(got).toBe(ts.pick({ saddr: a, sport, daddr: 0, dport: 80 })!.address);
        seen.add(got);
      }
      expect(seen.size).toBe(3);
    }
    const entry = serviceEntry(
      { protocol: 'tcp', address: VIP, port: 80, scheduler: 'dh' },
      ['10.77.0.21', '10.77.0.22', '10.77.0.23'].map((address) => ({ address, port: 80 })),
    );
    await dp.reconcile([]);
    await dp.reconcile([entry]);
    const dh = createScheduler('dh');
    dh.update(schedList(entry));
    const want = dh.pick({ saddr: 0, sport: 0, daddr: foldAddress(VIP), dport: 80 })!.address;
    for (let i = 0; i < 20; i++) expect(pickedBy(tcp(`10.12.0.${i + 1}`, 7000 + i))).toBe(want);
  });

  it('keeps established flows on their real server across a weight change, quiesces weight 0, reschedules a removed one', async () => {
    const reals = (w: number[]) => ['10.77.0.21', '10.77.0.22'].map((address, i) => ({ address, port: 80, weight: w[i] }));
    await dp.reconcile([]);
    await dp.reconcile([serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, reals([1, 1]))]);
    const flows = Array.from({ length: 10 }, (_, i) => tcp('10.55.0.1', 3000 + i));
    const first = flows.map(pickedBy);
    expect(new Set(first).size).toBe(2);
    // Non-SYN packets of the same flows (ACKs) keep going where the SYN went.
    const acks = flows.map((_, i) => tcp('10.55.0.1', 3000 + i, 80, 0x10));
    expect(acks.map(pickedBy)).toEqual(first);

    await dp.reconcile([serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'wrr' }, reals([1, 5]))]);
    expect(acks.map(pickedBy)).toEqual(first);

    // Weight 0 on web1: its flows continue, new flows all go to web2.
    await dp.reconcile([serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, reals([0, 1]))]);
    expect(acks.map(pickedBy)).toEqual(first);
    for (let i = 0; i < 6; i++) expect(pickedBy(tcp('10.55.0.2', 4000 + i))).toBe('10.77.0.22');

    // web1 removed and web3 added (it may get web1's index): web1's flows are rescheduled, not sent to web3 blindly.
    await dp.reconcile([
      serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, [
        { address: '10.77.0.22', port: 80 },
        { address: '10.77.0.23', port: 80, weight: 0 },
      ]),
    ]);
    const after = acks.map(pickedBy);
    after.forEach((host, i) => expect(host).toBe(first[i] === '10.77.0.21' ? '10.77.0.22' : first[i]));
  });

  it('forwards IPv6 DR and picks like the TS mh scheduler for IPv6 clients (address folded by XOR of its words)', async () => {
    const vip6 = 'fd00:77::100';
    const entry = serviceEntry(
      { protocol: 'tcp', address: vip6, port: 80, scheduler: 'mh' },
      ['fd00:77::21', 'fd00:77::22', 'fd00:77::23'].map((address, i) => ({ address, port: 80, weight: [1, 2, 3][i] })),
    );
    await dp.reconcile([entry]);
    const ts = createMhScheduler();
    ts.update(schedList(entry));
    const seen = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const src = `2001:db8:${((i * 40503) & 0xffff).toString(16)}::${(((i * 2654435761) >>> 16) & 0xffff).toString(16)}`;
      const f = frame6({ dstMac: lbMac, src, dst: vip6, sport: 1000 + i, dport: 80 });
      const { verdict, out } = run(f);
      expect(verdict).toBe(XDP_TX);
      expect(macAt(out, 6)).toBe(lbMac);
      expect(out.subarray(12).equals(f.subarray(12))).toBe(true);
      const got = macToHost.get(`v6 ${macAt(out, 0)}`);
      const want = ts.pick({ saddr: foldAddress(src), sport: 1000 + i, daddr: 0, dport: 80 })!.address;
      expect(got).toBe(want);
      seen.add(got!);
    }
    expect(seen.size).toBe(3);
  });

  it('drops packets for a service with no available real server', async () => {
    await dp.reconcile([serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, [{ address: '10.77.0.21', port: 80, weight: 0 }])]);
    expect(run(tcp('10.44.0.1', 5000)).verdict).toBe(XDP_DROP);
  });

  it('encapsulates TUN in IPIP with the configured source, a valid outer checksum and the inner packet intact', async () => {
    await dp.reconcile([
      serviceEntry({ protocol: 'udp', address: VIP, port: 53, scheduler: 'rr' }, [{ address: '10.88.0.5', port: 53, forwarding: 'tunnel' }]),
    ]);
    const payload = Buffer.from('hello tunnel');
    const f = frame({ dstMac: lbMac, src: '10.77.0.2', dst: VIP, sport: 5353, dport: 53, protocol: 'udp', payload, tos: 0x10 });
    const { verdict, out } = run(f);
    expect(verdict).toBe(XDP_TX);
    expect(out.length).toBe(f.length + 20);
    expect(macAt(out, 0)).toBe(lab.host('web3').mac); // the gateway toward 10.88.0.0/24
    expect(macAt(out, 6)).toBe(lbMac);
    expect(out.readUInt16BE(12)).toBe(0x0800);
    const outer = out.subarray(14, 34);
    expect(outer[0]).toBe(0x45);
    expect(outer[1]).toBe(0x10);
    expect(outer.readUInt16BE(2)).toBe(f.length - 14 + 20);
    expect(outer.readUInt16BE(6) & 0x4000).toBe(0x4000); // DF copied from the inner header
    expect(outer[9]).toBe(4); // IPPROTO_IPIP
    expect(ipAt(outer, 12)).toBe('10.77.0.11'); // the interface's address: no tunnel_source configured
    expect(ipAt(outer, 16)).toBe('10.88.0.5');
    expect(ipv4Checksum(outer)).toBe(0);
    expect(out.subarray(34).equals(f.subarray(14))).toBe(true);
  });

  it('encapsulates TUN in GUE (UDP to the tunnel port, GUE v0 carrying IPIP) when the real server asks for it', async () => {
    await dp.reconcile([
      serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, [
        { address: '10.88.0.6', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } },
      ]),
    ]);
    const f = tcp('10.77.0.2', 41000);
    const { verdict, out } = run(f);
    expect(verdict).toBe(XDP_TX);
    expect(out.length).toBe(f.length + 32);
    expect(macAt(out, 0)).toBe(lab.host('web3').mac);
    const outer = out.subarray(14, 34);
    expect(outer[9]).toBe(17);
    expect(outer.readUInt16BE(2)).toBe(f.length - 14 + 32);
    expect(ipAt(outer, 12)).toBe('10.77.0.11');
    expect(ipAt(outer, 16)).toBe('10.88.0.6');
    expect(ipv4Checksum(outer)).toBe(0);
    const udp = out.subarray(34, 42);
    expect(udp.readUInt16BE(0)).toBeGreaterThanOrEqual(49152);
    expect(udp.readUInt16BE(2)).toBe(6080);
    expect(udp.readUInt16BE(4)).toBe(f.length - 14 + 12);
    expect(udp.readUInt16BE(6)).toBe(0);
    expect([...out.subarray(42, 46)]).toEqual([0, 4, 0, 0]);
    expect(out.subarray(46).equals(f.subarray(14))).toBe(true);
    // The same flow always gets the same UDP source port (ECMP keeps it on one path).
    expect(run(tcp('10.77.0.2', 41000, 80, 0x10)).out.readUInt16BE(34)).toBe(udp.readUInt16BE(0));
  });

  it('counts packets, bytes and new connections per service and per real server, and zeroes them', async () => {
    const entry = serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, [
      { address: '10.77.0.21', port: 80 },
      { address: '10.77.0.22', port: 80 },
    ]);
    await dp.reconcile([]);
    await dp.reconcile([entry]);
    await dp.zero();
    const f = (i: number, flags = 0x02) => tcp('10.33.0.1', 6000 + i, 80, flags);
    for (let i = 0; i < 4; i++) pickedBy(f(i));
    for (let i = 0; i < 4; i++) pickedBy(f(i, 0x10));
    const [svc] = await dp.status();
    expect(svc!.key).toBe(entry.key);
    expect(svc!.counters.conns).toBe(4);
    expect(svc!.counters.inPkts).toBe(8);
    expect(svc!.counters.inBytes).toBe(8 * 40);
    for (const d of svc!.dests) {
      expect(d.counters.conns).toBe(2);
      expect(d.counters.inPkts).toBe(4);
      // The connection table, read in batches: this service's 4 TCP flows, 2 per real server.
      expect(d.activeConns).toBe(2);
      expect(d.inactiveConns).toBe(0);
    }
    // Batched reads across many chunks give what get_next_key + lookup give.
    const conns = dp.program!.map('vsd_conns');
    const viaKeys = new Set(conns.keys().map((k) => k.toString('hex')));
    const viaBatch = conns.entries(1 << 20, 16);
    expect(viaKeys.size).toBeGreaterThan(100);
    expect(new Set(viaBatch.map(([k]) => k.toString('hex')))).toEqual(viaKeys);
    expect(viaBatch.every(([k, v]) => v.equals(conns.lookup(k)!))).toBe(true);
    const list = await dp.connections();
    const mine = list.filter((c) => c.client.address === '10.33.0.1');
    expect(mine).toHaveLength(4);
    expect(mine.every((c) => c.protocol === 'TCP' && c.virtual.address === VIP && c.virtual.port === 80)).toBe(true);
    await dp.zero(entry.key);
    const [z] = await dp.status();
    expect(z!.counters.inPkts).toBe(0);
    expect(z!.dests.every((d) => d.counters.conns === 0)).toBe(true);
    expect((await dp.info()).engine).toBe('xdp unattached on eth0');
  });

  it('drains on close: no new flows, established ones forwarded until idle, bounded by the drain time', async () => {
    const dp2 = createXdpDataplane({ iface: 'eth0', attach: false, neighbourRefreshMs: 0 });
    await dp2.start();
    const run2 = (f: Buffer) => dp2.program!.testRun(f, ifindex).retval;
    await dp2.reconcile([
      serviceEntry({ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr' }, [
        { address: '10.77.0.21', port: 80 },
        { address: '10.77.0.22', port: 80 },
      ]),
    ]);
    expect(run2(tcp('10.22.0.1', 8000))).toBe(XDP_TX);
    const t0 = Date.now();
    const closing = dp2.close(8000);
    let closed = false;
    void closing.then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(run2(tcp('10.22.0.2', 8001))).toBe(XDP_DROP);
    // The established flow keeps going for 1.5 s, packets every 300 ms; the drain waits for it.
    for (let i = 0; i < 5; i++) {
      expect(closed).toBe(false);
      expect(run2(tcp('10.22.0.1', 8000, 80, 0x10))).toBe(XDP_TX);
      await new Promise((r) => setTimeout(r, 300));
    }
    await closing;
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1500);
    expect(took).toBeLessThan(7900);
    expect(dp2.program).toBeNull();
  });

  it('attaches in generic and in native mode (auto picks native on veth), refuses a second program, detaches on close', async () => {
    const link = () => execFileSync('ip', ['-d', 'link', 'show', 'eth0'], { encoding: 'utf8' });
    const a = XdpProgram.load({ iface: 'eth0' });
    try {
      expect(a.attach('generic')).toBe('generic');
      expect(link()).toMatch(/xdpgeneric/);
      const b = XdpProgram.load({ iface: 'eth0' });
      try {
        // Native is refused with EEXIST (the kernel does not run native beside generic); auto does not go on to generic.
        expect(() => b.attach('auto')).toThrow(
          /^xdp dataplane on eth0: cannot attach XDP in native mode: EEXIST \(-17\): another XDP program is attached to the interface$/,
        );
      } finally {
        b.close();
      }
    } finally {
      a.close();
    }
    expect(link()).not.toMatch(/prog\/xdp/);
    const c = XdpProgram.load({ iface: 'eth0' });
    expect(c.attach('auto')).toBe('native');
    expect(link()).toMatch(/ xdp /);
    c.close();
    expect(link()).not.toMatch(/prog\/xdp/);
    // A map asked for after close() is vsd's bug, not the operator's.
    expect(() => c.map('vsd_conns')).toThrow(
      expect.objectContaining({
        code: 'VSD_ERR_INTERNAL',
        message: 'internal error (a bug in vsd): xdp program on eth0: map vsd_conns asked for after close() or not in MAPS',
      }),
    );
    const d = XdpProgram.load({ iface: 'nosuch0' });
    try {
      expect(() => d.attach('auto')).toThrow(/^xdp dataplane on nosuch0: no interface nosuch0/);
    } finally {
      d.close();
    }
  });

  it('turns a program the verifier refuses into a startup error with the interface and the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-xdp-bad-'));
    try {
      // Reads past the packet without a bounds check.
      writeFileSync(
        join(dir, 'bad.c'),
        '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int vsd_xdp_lb(struct xdp_md *ctx) { return *(unsigned char *)(long)ctx->data; }\nchar LICENSE[] SEC("license") = "GPL";\n',
      );
      execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(dir, 'bad.c'), '-o', join(dir, 'bad.o')]);
      let err: unknown;
      try {
        XdpProgram.load({ iface: 'eth9', objectPath: join(dir, 'bad.o') }).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(XdpLoadError);
      const e = err as XdpLoadError;
      expect(e.code).toBe('VSD_ERR_XDP_LOAD');
      expect(e.message).toMatch(
        /^xdp dataplane on eth9: the kernel refused the BPF program \(EACCES \(-13\)\): .*(outside of the packet|invalid access to packet)/,
      );
      expect(String(e.details.verifierLog)).toMatch(/outside of the packet|invalid access to packet/);
      expect(() => XdpProgram.load({ iface: 'eth9', objectPath: join(dir, 'missing.o') })).toThrow(/eth9: BPF object .*missing\.o is missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
