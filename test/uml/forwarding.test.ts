/**
 * Real traffic through kernel IPVS programmed by vsd's ipvs dataplane, inside user-mode-linux:
 * a client namespace, the director (root namespace, VIP 10.0.0.100) and two real servers in namespaces
 * on one bridge (test/uml/guest/forwarding.sh). NAT: the real servers route back through the director.
 * DR and TUN: a running vsd (ipvs dataplane) programmed with vsadm over its socket; the real servers are set up
 * with vsd-agent setup-dr / setup-tun and answer the client directly from the VIP.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runInUml, type UmlResult } from '../lib/uml.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let run: UmlResult;

beforeAll(async () => {
  execFileSync('pnpm', ['exec', 'tsc', '-b', 'packages/core'], { cwd: root, stdio: 'inherit' });
  run = await runInUml(`bash ${root}test/uml/guest/forwarding.sh ${root}`, {
    modules: ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'veth', 'bridge', 'ipip'],
    timeoutMs: 420_000,
    env: { FWD_METHODS: 'all', FWD_WATCHDOG: '360' },
  });
  if (run.exitCode !== 0 || !run.files['steps.txt']?.split('\n').includes('done')) {
    throw new Error(`forwarding script failed (exit ${run.exitCode}), steps:\n${run.files['steps.txt']}\n${run.stderr.slice(-3000)}`);
  }
});

describe('NAT forwarding through kernel IPVS programmed by vsd (UML)', () => {
  it('round-robins 10 requests to the VIP over both real servers', () => {
    expect(run.files['nat.txt']!.trim()).toBe('rs1=5 rs2=5');
  });

  it('reads back counters and connection counts from the kernel', () => {
    const [svc] = JSON.parse(run.files['nat-status.json']!);
    expect(svc.key).toBe('tcp 10.0.0.100:80');
    expect(svc.counters.conns).toBe(10);
    expect(svc.counters.inPkts).toBeGreaterThanOrEqual(50);
    expect(svc.counters.inBytes).toBeGreaterThan(0);
    const dests = Object.fromEntries(svc.dests.map((d: any) => [d.key, d]));
    expect(dests['10.0.1.11:80'].counters.conns).toBe(5);
    expect(dests['10.0.1.12:80'].counters.conns).toBe(5);
    expect(dests['10.0.1.11:80'].activeConns + dests['10.0.1.11:80'].inactiveConns).toBe(5);
  });

  it('lists connection entries that ipvsadm -Lnc lists too', () => {
    const conns = JSON.parse(run.files['nat-conns.json']!);
    const lines = run.files['nat-ipvsadm-conns.txt']!.split('\n').slice(2).filter(Boolean);
    // Read right after ipvsadm's listing; TIME_WAIT entries may expire in between on a slow guest.
    expect(conns.length).toBeGreaterThan(0);
    expect(conns.length).toBeLessThanOrEqual(lines.length);
    expect(lines.length).toBeLessThanOrEqual(10);
    for (const c of conns) {
      expect(c).toMatchObject({ protocol: 'TCP', client: { address: '10.0.0.2' }, virtual: { address: '10.0.0.100', port: 80 } });
      expect(['10.0.1.11', '10.0.1.12']).toContain(c.destination.address);
      // ipvsadm prints "TCP 01:57  TIME_WAIT   10.0.0.2:41234 10.0.0.100:80 10.0.1.11:80"
      expect(lines.some((l) => l.includes(`${c.client.address}:${c.client.port}`) && l.includes(c.state))).toBe(true);
    }
  });
});

function answers(name: string): string[] {
  return run.files[name]!.trim().split('\n');
}

/** ipvsadm read before and after vsadm with the same result: vsadm's listing (-L -n, --stats, -S) must equal it byte for byte. */
function expectSameListings(phase: string): void {
  const f = run.files;
  expect(f[`${phase}-ipvsadm-ln2.txt`], 'the kernel table moved while it was listed').toBe(f[`${phase}-ipvsadm-ln.txt`]);
  expect(f[`${phase}-vsadm-ln.txt`]).toBe(f[`${phase}-ipvsadm-ln.txt`]);
  expect(f[`${phase}-ipvsadm-stats2.txt`], 'the counters moved while they were listed').toBe(f[`${phase}-ipvsadm-stats.txt`]);
  expect(f[`${phase}-vsadm-stats.txt`]).toBe(f[`${phase}-ipvsadm-stats.txt`]);
  expect(f[`${phase}-vsadm-Sn.txt`]).toBe(f[`${phase}-ipvsadm-Sn.txt`]);
  expect(f[`${phase}-vsadm-S.txt`]).toBe(f[`${phase}-ipvsadm-S.txt`]);
}

for (const [method, phase, forward, flag] of [
  ['DR (gatewaying)', 'dr', 'Route', '-g'],
  ['TUN (ipip)', 'tun', 'Tunnel', '-i'],
] as const) {
  // DR quiesces rs1 (10.0.0.11), TUN quiesces rs2 (10.0.0.12).
  const [quiesced, other, quiescedRip] = phase === 'dr' ? ['rs1', 'rs2', '10.0.0.11'] : ['rs2', 'rs1', '10.0.0.12'];

  describe(`${method} forwarding through kernel IPVS programmed by a running vsd via vsadm (UML)`, () => {
    it('real servers answer the client directly from the VIP, alternating rr', () => {
      const seq = answers(`${phase}-seq.txt`);
      expect(seq).toHaveLength(6);
      for (const a of seq) expect(['rs1', 'rs2']).toContain(a);
      for (let i = 1; i < seq.length; i++) expect(seq[i]).not.toBe(seq[i - 1]);
    });

    it('vsadm -L -n, -S -n and -S print what ipvsadm prints on the same kernel', () => {
      expectSameListings(phase);
      const ln = run.files[`${phase}-ipvsadm-ln.txt`]!;
      expect(ln).toContain('TCP  10.0.0.100:80 rr');
      expect(ln).toMatch(new RegExp(`-> 10\\.0\\.0\\.11:80 +${forward} +1 +0 +\\d+ `));
      expect(ln).toMatch(new RegExp(`-> 10\\.0\\.0\\.12:80 +${forward} +1 +0 +\\d+ `));
      expect(run.files[`${phase}-ipvsadm-Sn.txt`]).toContain(`-a -t 10.0.0.100:80 -r 10.0.0.11:80 ${flag} -w 1`);
    });

    it(`weight 0 set with vsadm -e quiesces ${quiesced}: new requests all go to ${other}`, () => {
      expect(answers(`${phase}-quiesced-seq.txt`)).toEqual([other, other, other, other]);
      expectSameListings(`${phase}-quiesced`);
      expect(run.files[`${phase}-quiesced-ipvsadm-Sn.txt`]).toContain(`-r ${quiescedRip}:80 ${flag} -w 0`);
    });
  });
}
