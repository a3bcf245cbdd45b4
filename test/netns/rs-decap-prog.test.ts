/**
 * The real-server decapsulator (packages/agent/bpf/rs_decap.c) run on hand-made frames with BPF_PROG_TEST_RUN:
 * no interface, no namespace, but root (loading BPF needs CAP_BPF), hence this tier. What it strips, what it
 * leaves alone, RFC 6040 ECN handling and the counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfMap, BpfObject, testRunXdp, XDP_DROP, XDP_PASS } from '@vsd/core';
import { ADDR_LOCAL, ADDR_VIP, DECAP_ADDRS_MAP, DECAP_CONF_MAP, DECAP_OBJECT, DECAP_PROGRAM, DECAP_STATS, DECAP_STATS_MAP, possibleCpus } from '@vsd/agent';
// @ts-expect-error plain ESM helper shared with the namespace sender
import { ethernet, innerPacket, ipv4Header, tunnelled } from '../lib/ipip-packets.mjs';

const RIP = '10.77.0.21';
const VIP = '10.77.0.100';
const base = { outerSrc: '10.77.0.2', outerDst: RIP, innerSrc: '10.77.0.10', innerDst: VIP, sport: 40001, dport: 9000, payload: 'ping' };
type Frame = Parameters<typeof tunnelled>[0];

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const key = (a: string) => Buffer.from(a.split('.').map(Number));

function checksumOk(ipHeader: Buffer): boolean {
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += ipHeader.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

describe('rs_decap.c under BPF_PROG_TEST_RUN', () => {
  let obj: BpfObject;
  let prog: number;
  let conf: BpfMap;
  let stats: BpfMap;
  const cpus = possibleCpus();

  beforeAll(() => {
    obj = BpfObject.load(DECAP_OBJECT, DECAP_PROGRAM);
    prog = obj.progFd(DECAP_PROGRAM);
    const addrs = new BpfMap(DECAP_ADDRS_MAP, obj.mapFd(DECAP_ADDRS_MAP), 4, 4);
    addrs.update(key(RIP), u32(ADDR_LOCAL));
    addrs.update(key(VIP), u32(ADDR_VIP));
    conf = new BpfMap(DECAP_CONF_MAP, obj.mapFd(DECAP_CONF_MAP), 4, 4);
    stats = new BpfMap(DECAP_STATS_MAP, obj.mapFd(DECAP_STATS_MAP), 4, 8, cpus);
  });
  afterAll(() => obj?.close());

  const run = (o: Partial<Frame>) => {
    const frame = ethernet(tunnelled({ ...base, encap: 'ipip', ...o }));
    return { frame, ...testRunXdp(prog, frame) };
  };
  const counters = () => {
    return Object.fromEntries(
      DECAP_STATS.map((name, i) => {
        const v = stats.lookup(u32(i))!;
        let n = 0;
        for (let c = 0; c < cpus; c++) n += Number(v.readBigUInt64LE(8 * c));
        return [name, n];
      }),
    );
  };

  it('strips the outer IPv4 header of IPIP to this server for a configured VIP, keeping the Ethernet header', () => {
    const before = counters();
    const r = run({});
    expect(r.retval).toBe(XDP_PASS);
    expect(r.data.toString('hex')).toBe(ethernet(innerPacket(base)).toString('hex'));
    expect(counters().decapIpip).toBe(before.decapIpip! + 1);
  });

  it('leaves alone IPIP for another VIP or another outer address, plain traffic, outer fragments and truncated packets', () => {
    const before = counters();
    for (const o of [{ innerDst: '10.77.0.101' }, { outerDst: '10.77.0.22' }, { outerFragOff: 0x2000 }]) {
      const r = run(o);
      expect(r.retval).toBe(XDP_PASS);
      expect(r.data.equals(r.frame)).toBe(true);
    }
    const plain = ethernet(innerPacket(base));
    expect(testRunXdp(prog, plain).data.equals(plain)).toBe(true);
    const truncated = ethernet(tunnelled({ ...base, encap: 'ipip' }).subarray(0, 30));
    const t = testRunXdp(prog, truncated);
    expect([t.retval, t.data.equals(truncated)]).toEqual([XDP_PASS, true]);
    const after = counters();
    expect(after.notOurs! - before.notOurs!).toBe(2);
    expect(after.fragment! - before.fragment!).toBe(1);
    expect(after.malformed! - before.malformed!).toBe(1);
    expect(after.decapIpip).toBe(before.decapIpip);
  });

  it('strips GUE (version 0 with proto 4, and version 1 direct IPv4) only on the configured UDP port', () => {
    const gue = (encap: 'gue0' | 'gue1', port: number) => run({ encap, guePort: port });
    conf.update(u32(0), u32(0));
    expect(gue('gue0', 6080).data.equals(gue('gue0', 6080).frame)).toBe(true);
    conf.update(u32(0), u32(6080));
    const want = ethernet(innerPacket(base)).toString('hex');
    for (const encap of ['gue0', 'gue1'] as const) {
      const r = gue(encap, 6080);
      expect([r.retval, r.data.toString('hex')]).toEqual([XDP_PASS, want]);
      const other = gue(encap, 6081);
      expect(other.data.equals(other.frame)).toBe(true);
    }
    conf.update(u32(0), u32(0));
  });

  it('follows RFC 6040: outer CE marks an ECT inner packet CE (checksum still valid) and drops a not-ECT one', () => {
    const r = run({ outerTos: 3, tos: 2 });
    expect(r.retval).toBe(XDP_PASS);
    const inner = r.data.subarray(14, 34);
    expect(inner[1]! & 3).toBe(3);
    expect(checksumOk(Buffer.from(inner))).toBe(true);
    const before = counters().ecnDrop!;
    expect(run({ outerTos: 3, tos: 0 }).retval).toBe(XDP_DROP);
    expect(counters().ecnDrop).toBe(before + 1);
    // ECT outer over ECT inner: inner unchanged
    expect(
      run({ outerTos: 2, tos: 1 })
        .data.subarray(14)
        .equals(innerPacket({ ...base, tos: 1 })),
    ).toBe(true);
  });

  it('keeps an outer header with IP options out of the inner packet (ihl > 5)', () => {
    const t = tunnelled({ ...base, encap: 'ipip' });
    const opts = Buffer.from([1, 1, 1, 0]); // NOP NOP NOP EOL
    const h = ipv4Header({ src: base.outerSrc, dst: RIP, proto: 4, payloadLength: t.length - 20 + 4 });
    h[0] = 0x46;
    const withOpts = Buffer.concat([h, opts]);
    const r = testRunXdp(prog, ethernet(Buffer.concat([withOpts, t.subarray(20)])));
    expect(r.data.toString('hex')).toBe(ethernet(innerPacket(base)).toString('hex'));
  });
});
