/**
 * Issue 16: `vsadm -R` past ~10k lines hit the 1 MiB body limit and reported "cannot reach vsd", and applying
 * (and finding a failing line) was quadratic. 10k and 100k lines now restore as one transaction against a real
 * vsd, in about linear time; a transaction above the limit says so in restore terms. Needs `pnpm build`.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlClient, type DesiredState } from '@vsd/core';
import { startHarness } from '../../../core/test/control/helpers.js';
import { runVsadm } from '../../src/vsadm/run.js';
import { fakeResolver } from './fake-resolver.js';
import { builtBinaries, startVsd, VSADM_BIN, type VsdProcess } from './vsd-process.js';

/** `n` lines: services with 9 real servers each, as ipvsadm-save writes them. */
function saveFile(n: number): string {
  const lines: string[] = [];
  for (let s = 0; lines.length < n; s++) {
    const vip = `10.${(s >> 8) & 255}.${s & 255}.1:80`;
    lines.push(`-A -t ${vip} -s wrr`);
    for (let r = 1; r <= 9 && lines.length < n; r++) lines.push(`-a -t ${vip} -r 192.0.2.${r}:8080 -m -w 1`);
  }
  return `${lines.join('\n')}\n`;
}

function vsadm(socket: string, args: string[], input = ''): { code: number | null; stderr: string; ms: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [VSADM_BIN, '--socket', socket, ...args], { input, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stderr: r.stderr, ms: performance.now() - t0 };
}

describe('vsadm -R at scale (issue 16)', () => {
  let vsd: VsdProcess;
  beforeAll(async () => {
    if (!builtBinaries()) throw new Error('run `pnpm build` first: this test runs the built vsd and vsadm');
    vsd = await startVsd();
  });
  afterAll(() => vsd?.stop());

  it('restores 10k and 100k lines atomically, in about linear time', async () => {
    const client = createControlClient({ socket: vsd.socket });
    const times: number[] = [];
    for (const n of [10_000, 100_000]) {
      expect(vsadm(vsd.socket, ['-C']).code).toBe(0);
      const r = vsadm(vsd.socket, ['-R'], saveFile(n));
      expect([r.code, r.stderr]).toEqual([0, '']);
      const state = await client.get<DesiredState>('/v1/state');
      expect(state.services.reduce((k, s) => k + 1 + s.realServers.length, 0)).toBe(n);
      times.push(r.ms);
    }
    const [t10k, t100k] = times as [number, number];
    console.log(`vsadm -R: 10k lines ${(t10k / 1000).toFixed(2)} s, 100k lines ${(t100k / 1000).toFixed(2)} s (x${(t100k / t10k).toFixed(1)} for x10 lines)`);
    // Quadratic would be x100; startup and the fixed costs make x10 lines less than x10 time.
    expect(t100k / t10k).toBeLessThan(25);
    expect(t100k).toBeLessThan(60_000);
  }, 180_000);

  it('a failing line in a 100k-line restore is named, nothing changes', async () => {
    expect(vsadm(vsd.socket, ['-C']).code).toBe(0);
    const text = `${saveFile(99_999)}-a -t 10.0.0.1:80 -r 192.0.2.1:8080 -m -w 1\n`;
    const r = vsadm(vsd.socket, ['-R'], text);
    expect([r.code, r.stderr]).toEqual([255, 'line 100000: Destination already exists\n']);
    expect((await createControlClient({ socket: vsd.socket }).get<DesiredState>('/v1/state')).services).toEqual([]);
  }, 180_000);
});

describe('vsadm -R above the transaction limit', () => {
  it('says the restore is too large and that nothing changed (not "cannot reach vsd")', async () => {
    const h = await startHarness({ maxTransactionBytes: 200_000 });
    try {
      const r = await runVsadm({
        args: ['-R'],
        client: createControlClient({ socket: h.socket }),
        resolver: fakeResolver,
        readStdin: async () => saveFile(5000),
      });
      expect(r.code).toBe(255);
      expect(r.stderr).toMatch(
        /^vsadm: restore refused: 5000 rules \(\d+\.\d MiB of operations\) exceed what vsd accepts in one transaction \(0\.2 MiB\); nothing was changed/,
      );
      expect(h.store.generation).toBe(0);
    } finally {
      await h.close();
    }
  });
});
