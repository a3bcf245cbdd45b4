/**
 * vsadm + a real vsd (`--dataplane none`) against every recorded ipvsadm 1.31 command: stdout, stderr and exit
 * status byte for byte, except the deviations listed in golden-cases.ts. Commands run through runVsadm() over
 * vsd's real control socket; the seed workflow (issue 4, item 5) also runs through the vsadm binary itself,
 * against a second vsd, while the in-process cases run (each vsadm process spends most of its time loading).
 * Needs `pnpm build`: vsd and vsadm are started from dist/.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createControlClient, type ControlClient, type DesiredState, type StateOp } from '@vsd/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver } from '../../src/vsadm/resolve.js';
import { runVsadm } from '../../src/vsadm/run.js';
import { asIpvsadm, expectationsFor, loadGolden, type GoldenCase, type GoldenCommand } from './golden-cases.js';
import { builtBinaries, startVsd, VSADM_BIN, type VsdProcess } from './vsd-process.js';

const SYSFS = fileURLToPath(new URL('./sysfs-net', import.meta.url));
const cases = loadGolden();
let vsd: VsdProcess;
let vsdForBinary: VsdProcess;
let client: ControlClient;
const savedSysfs = process.env.VSADM_SYSFS_NET;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}
let seedThroughBinary: Promise<{ command: GoldenCommand; got: Outcome }[]>;
let unreachableThroughBinary: Promise<Outcome>;

beforeAll(async () => {
  if (!builtBinaries()) throw new Error('packages/cli/dist is missing: run `pnpm build` before this test');
  process.env.VSADM_SYSFS_NET = SYSFS;
  [vsd, vsdForBinary] = await Promise.all([startVsd(), startVsd()]);
  client = createControlClient({ socket: vsd.socket });
  seedThroughBinary = runSeedThroughBinary(vsdForBinary.socket);
  unreachableThroughBinary = vsadmBinary(['-ln'], `${vsd.dir}/nobody.sock`);
  // Awaited by the tests below; keep an early failure from being reported as unhandled meanwhile.
  seedThroughBinary.catch(() => undefined);
}, 40_000);

afterAll(async () => {
  if (savedSysfs === undefined) delete process.env.VSADM_SYSFS_NET;
  else process.env.VSADM_SYSFS_NET = savedSysfs;
  await Promise.allSettled([seedThroughBinary, unreachableThroughBinary]);
  await Promise.all([vsd?.stop(), vsdForBinary?.stop()]);
}, 120_000);

/** The seed workflow, one vsadm process per command, on a vsd of its own. */
async function runSeedThroughBinary(socket: string): Promise<{ command: GoldenCommand; got: Outcome }[]> {
  const seed = cases.find((c) => c.name === 'seed-workflow') as GoldenCase;
  const out: { command: GoldenCommand; got: Outcome }[] = [];
  for (const command of seed.commands) out.push({ command, got: await vsadmBinary(command.argv, socket, command.stdin) });
  return out;
}

/** What the recorder does before every case: flush, stop sync daemons, default timeouts. */
async function reset(): Promise<void> {
  const state = await client.get<DesiredState>('/v1/state');
  const ops: StateOp[] = [
    { op: 'clear' },
    { op: 'set-timeouts', timeouts: { tcp: 900, tcpfin: 120, udp: 300 } },
    ...state.syncDaemons.map((d): StateOp => ({ op: 'stop-daemon', state: d.state })),
  ];
  await client.post('/v1/transactions', { ops });
}

describe('vsadm with vsd matches recorded ipvsadm 1.31', () => {
  // The recording guest's name files: /etc/hosts with localhost only, netbase's /etc/services.
  const resolver = createResolver({
    dns: false,
    hostsFile: fileURLToPath(new URL('./etc/hosts', import.meta.url)),
    servicesFile: fileURLToPath(new URL('./etc/services', import.meta.url)),
  });
  for (const c of cases) {
    it(c.name, async () => {
      await reset();
      const expected = expectationsFor(c);
      for (const [i, k] of c.commands.entries()) {
        const r = await runVsadm({ args: k.argv, program: 'ipvsadm', client, resolver, readStdin: async () => k.stdin ?? '' });
        const want = expected[i]!;
        if (!want.compare) continue;
        const label = `${c.name}[${i}] ${JSON.stringify(k.argv)}`;
        expect({ label, code: r.code, stdout: want.normalize(r.stdout), stderr: r.stderr }).toEqual({
          label,
          code: want.exitCode,
          stdout: want.stdout,
          stderr: want.stderr,
        });
      }
    });
  }
});

describe('vsadm -R against vsd', () => {
  const resolver = createResolver({ dns: false });
  const vsadm = (args: string[], stdin = '') => runVsadm({ args, client, resolver, readStdin: async () => stdin });

  it('applies nothing when vsd refuses one line of the file, and names that line', async () => {
    await reset();
    await vsadm(['-A', '-t', '10.0.0.1:80', '-s', 'rr']);
    const before = await client.get<DesiredState>('/v1/state');
    const r = await vsadm(['-R'], '-C\n-A -t 10.0.0.2:80 -s rr\n-a -t 10.0.0.2:80 -r 192.168.1.1:80 -m\n-a -t 10.0.0.2:80 -r 192.168.1.1:80 -m\n');
    expect([r.code, r.stderr]).toEqual([255, 'line 4: Destination already exists\n']);
    const after = await client.get<DesiredState>('/v1/state');
    expect([after.generation, after.services]).toEqual([before.generation, before.services]);
  });
});

const run = promisify(execFile);

async function vsadmBinary(args: string[], socket: string, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, VSADM_RESOLVE: 'files', VSADM_SYSFS_NET: SYSFS };
  const p = run(process.execPath, [VSADM_BIN, ...args, '--socket', socket], { env, encoding: 'utf8' });
  if (stdin !== undefined) p.child.stdin!.end(stdin);
  else p.child.stdin!.end();
  try {
    const { stdout, stderr } = await p;
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('the vsadm binary', () => {
  it('runs the seed workflow verbatim (-C; -A; -a x4; -ln; -d; -S; -D; -C; -R < saved; -ln)', async () => {
    const runs = await seedThroughBinary;
    expect(runs).toHaveLength(16);
    for (const { command: k, got } of runs) {
      expect({ argv: k.argv, ...got, stderr: asIpvsadm(got.stderr) }).toEqual({ argv: k.argv, code: k.exitCode, stdout: k.stdout, stderr: k.stderr });
    }
  }, 120_000);

  it('says in one line that vsd is not running, and exits 2', async () => {
    const r = await unreachableThroughBinary;
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: `vsadm: cannot reach vsd at ${vsd.dir}/nobody.sock (ENOENT): start it with \`vsd --config /etc/vsd/vsd.yaml\`\n`,
    });
  }, 60_000);
});
