/**
 * Real traffic through kernel IPVS programmed by vsd's ipvs dataplane, inside user-mode-linux:
 * a client namespace, the director (root namespace, VIP 10.0.0.100) and two real servers in namespaces
 * on one bridge (test/uml/guest/forwarding.sh). NAT: the real servers route back through the director.
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
    env: { FWD_METHODS: 'nat', FWD_WATCHDOG: '360' },
  });
  if (run.exitCode !== 0 || !run.files['steps.txt']?.includes('nat-done')) {
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
