/**
 * Kernel tier for the agents' shared-storage status against a real NFS server (DESIGN.md section 6, tier 3): this
 * host's kernel has no nfs/nfsd, the user-mode-linux kernel has them as modules. One boot runs
 * test/uml/guest/nfs-agent.sh: the kernel NFS server exports a tmpfs (NFSv4, 127.0.0.0/8), the guest hard-mounts it
 * over 127.0.0.1 with a sentinel, and guest/nfs-agent.mjs drives a vsd dispatcher (proxy dataplane, agents hub on
 * 127.0.0.1) and a vsd-agent watching the mount through: healthy; NFS server stopped (the hard mount hangs); server
 * started again; unmounted; mounted from the wrong source; a tmpfs in its place; NFS again. The checks below read
 * what the guest recorded. Needs `pnpm build` (the guest runs the built bins) and the Debian packages
 * nfs-kernel-server, nfs-common and rpcbind (scripts/install-deps.sh); nothing NFS runs on the host.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runInUml, type UmlResult } from '../lib/uml.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MNT = '/tmp/vsd-nfs-mnt';
const SENTINEL_SHA = createHash('sha256').update('release 42').digest('hex');
/** Extra time a busy guest may add to "probe timeout + report interval" (timers fire late, processes start slowly). */
const SLACK_MS = 3000;
const NFS_USERSPACE = ['/usr/sbin/rpcbind', '/usr/sbin/rpc.nfsd', '/usr/sbin/rpc.mountd', '/usr/sbin/exportfs', '/usr/sbin/mount.nfs4'];
/** Host files the NFS tools would write if they ran on the host: the guest must leave them as they were. */
const HOST_FILES = ['/etc/exports', '/var/lib/nfs/etab', '/var/lib/nfs/rmtab'];
const NFS_DAEMONS = new Set(['rpcbind', 'rpc.mountd', 'rpc.statd', 'nfsd']);

interface MountReport {
  present: boolean;
  fstype: string | null;
  source: string | null;
  responsive: boolean | null;
  writable: boolean | null;
  sentinel: string | null;
  error: string | null;
  probeMs: number | null;
}
interface View {
  state: string | null;
  reasons: string[];
  seq: number | null;
  reportAt: number | null;
  mount: MountReport | null;
  effectiveWeight: number | null;
  storageReason: string | null;
}
interface Phase {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
  waits: Array<{ what: string; ok: boolean; ms: number; view: View }>;
  [k: string]: any;
}
interface Results {
  calibrationMs: number[];
  vsdUpMs: number;
  timeout: number;
  interval: number;
  silentAfter: number;
  error: string | null;
  phases: Phase[];
  agentExit: { code: number | null; signal: string | null };
  vsdExit: { code: number | null; signal: string | null };
  agentRssKb: number;
  elapsedMs: number;
}

function hostSnapshot(): { files: Record<string, string | null>; daemons: string[] } {
  const files: Record<string, string | null> = {};
  for (const f of HOST_FILES) files[f] = existsSync(f) ? readFileSync(f, 'utf8') : null;
  const daemons: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (NFS_DAEMONS.has(comm)) daemons.push(`${pid} ${comm}`);
    } catch {
      /* exited */
    }
  }
  return { files, daemons: daemons.sort() };
}

let run: UmlResult;
let res: Results;
let hostBefore: ReturnType<typeof hostSnapshot>;
let hostAfter: ReturnType<typeof hostSnapshot>;

function phase(name: string): Phase {
  const p = res.phases.find((x) => x.name === name);
  if (!p) throw new Error(`the guest never reached phase ${name} (phases: ${res.phases.map((x) => x.name).join(', ')}; error: ${res.error})`);
  if (!p.ok) throw new Error(`phase ${name} failed in the guest: ${p.error}`);
  return p;
}

function vsctlSnapshot(tag: string): any {
  const text = run.files[`vsctl-agents-${tag}.json`];
  if (text === undefined) throw new Error(`no vsctl agents --json snapshot "${tag}" from the guest`);
  return JSON.parse(text);
}

beforeAll(async () => {
  for (const bin of ['packages/daemon/dist/bin/vsd.js', 'packages/cli/dist/bin/vsctl.js', 'packages/agent/dist/bin/vsd-agent.js'])
    if (!existsSync(join(root, bin))) throw new Error(`${bin} is missing: run \`pnpm build\` before the uml tier (the guest runs the built binaries)`);
  const missing = NFS_USERSPACE.filter((f) => !existsSync(f));
  if (missing.length)
    throw new Error(
      `NFS userspace missing on the host (${missing.join(', ')}): apt-get install -y nfs-kernel-server nfs-common rpcbind (scripts/install-deps.sh)`,
    );
  hostBefore = hostSnapshot();
  // Budget: boot and power-off, NFS set-up, then a driver bounded at 360 s (phases scale with the calibrated
  // probe timeout, which stays at 2 s on an idle machine: about a minute in all).
  run = await runInUml(`bash ${root}test/uml/guest/nfs-agent.sh`, { modules: ['nfsd', 'nfsv4'], timeoutMs: 540_000, memMb: 512 });
  hostAfter = hostSnapshot();
  if (run.files['nfs-error']) throw new Error(`the NFS server or mount could not start in the guest: ${run.files['nfs-error']}\n${run.stderr}`);
  if (!run.files['results.json']) throw new Error(`the guest driver wrote no results (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  res = JSON.parse(run.files['results.json']);
  if (res.error) throw new Error(`the guest driver failed: ${res.error}\n--- agent log tail\n${(run.files['agent.log'] ?? '').slice(-3000)}`);
  // Measured figures for the record (a busy host stretches every one of them).
  const hung = res.phases.find((p) => p.name === 'hung');
  console.info(
    [
      `uml nfs-agent: whole run ${run.elapsedMs} ms; guest set-up timeline (ms): ${(run.files['timeline'] ?? '').trim().replace(/\n/g, ', ')}`,
      `vsd answering after ${res.vsdUpMs} ms; probe timeout ${res.timeout} s (probe steps took ${res.calibrationMs?.join(', ')} ms), report interval ${res.interval} s`,
      `phases (ms, CPU ms of driver/vsd/agent): ${res.phases.map((p) => `${p.name} ${p.ms}${p.ok ? '' : ' FAILED'} (${Object.values(p.cpuMs ?? {}).join('/')})`).join(', ')}`,
      hung?.ok
        ? `hung server reported after ${Math.round(hung.detectMs)} ms, effective weight 0 seen after ${Math.round(hung.drainMs)} ms; ${hung.seqAdvance} reports and at most ${hung.maxProbes} probe process group in ${hung.watchMs} ms while hung`
        : '',
      `agent RSS ${Math.round(res.agentRssKb / 1024)} MB`,
    ].join('\n'),
  );
});

describe('vsd-agent against a real NFS server (user-mode-linux kernel)', () => {
  it('serves a tmpfs over kernel NFSv4 and hard-mounts it over 127.0.0.1, leaving the host untouched', () => {
    expect(run.exitCode).toBe(0);
    expect(run.files['mountinfo.txt']).toMatch(new RegExp(` ${MNT} .* - nfs4 127\\.0\\.0\\.1:/ .*\\bhard\\b`));
    expect(res.calibrationMs).toHaveLength(3);
    expect(res.timeout).toBe(Math.min(20, Math.max(2, Math.ceil((5 * Math.max(...res.calibrationMs)) / 1000))));
    expect(hostAfter).toEqual(hostBefore);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(MNT);
  });

  it('healthy: the mount is present, responsive, writable, with the sentinel; the real server serves at full weight', () => {
    const p = phase('healthy');
    const v = p.waits.at(-1)!.view;
    expect(v.state).toBe('up');
    expect(v.effectiveWeight).toBe(100);
    expect(v.mount).toMatchObject({
      present: true,
      fstype: 'nfs4',
      source: '127.0.0.1:/',
      responsive: true,
      writable: true,
      sentinel: SENTINEL_SHA,
      error: null,
    });
    expect(p.agentCheck.line).toBe('up ready 100%');
    // rr through the proxy dataplane alternates exactly between the two real servers.
    expect(p.spread).toEqual({ 'nfs-web': 5, 'local-web': 5 });
  });

  it('NFS server stopped: unresponsive within the probe timeout (+ report intervals), drained, agent still answering', () => {
    const p = phase('hung');
    // From the moment nfsd's threads went away to the agent's first report saying so (the report's own timestamp).
    expect(p.detectMs).toBeLessThanOrEqual((res.timeout + 2 * res.interval) * 1000 + SLACK_MS);
    const v = p.waits.find((w) => w.what === 'reported unresponsive')!.view;
    expect(v.mount).toMatchObject({ present: true, fstype: 'nfs4', responsive: false, error: `no answer within ${res.timeout * 1000} ms` });
    expect(p.storageReason).toMatch(new RegExp(`^storage: ${MNT} does not respond`));
    expect(p.drainMs).toBeLessThanOrEqual((res.timeout + 2 * res.interval) * 1000 + SLACK_MS + 1000);
    expect(p.stillDrained).toBe(true);
    // The agent kept reporting and answering agent-check while the mount hung, with at most one probe alive.
    expect(p.seqAdvance).toBeGreaterThanOrEqual(3);
    expect(p.agentAlive).toBe(true);
    expect(p.agentCheck.line).toMatch(new RegExp(`^down #storage broken: ${MNT} does not respond`));
    expect(p.agentCheck.ms).toBeLessThan(3000);
    // A hung probe is seen (the count works) and never a second one beside it.
    expect(p.maxProbes).toBe(1);
    // New connections all go to the other real server.
    expect(p.spread).toEqual({ 'local-web': 6 });
    const snap = vsctlSnapshot('hung');
    const a = snap.agents.find((x: any) => x.agent === 'nfs-web');
    expect(a.state).toBe('drained');
    expect(a.storageProblems.join('\n')).toMatch(/does not respond/);
    expect(a.report.mounts[0]).toMatchObject({ path: MNT, responsive: false });
  });

  it('NFS server started again: responsive and writable, restored to full weight', () => {
    const p = phase('repaired');
    expect(p.waits.at(-1)!.view).toMatchObject({ state: 'up', effectiveWeight: 100, mount: { responsive: true, writable: true, sentinel: SENTINEL_SHA } });
    expect(p.agentCheck.line).toBe('up ready 100%');
  });

  it('unmounted: reported not mounted and drained', () => {
    const p = phase('unmounted');
    expect(p.reason).toBe(`storage: ${MNT} is not mounted`);
    expect(p.agentCheck.line).toBe(`down #storage broken: ${MNT} is not mounted`);
  });

  it('NFS from the wrong server address: reported with both sources and drained', () => {
    const p = phase('wrong-source');
    expect(p.mount).toMatchObject({ present: true, fstype: 'nfs4', source: '127.0.0.2:/' });
    expect(p.reason).toBe(`storage: ${MNT} is mounted from 127.0.0.2:/, expected 127.0.0.1:/`);
    expect(p.effectiveWeight).toBe(0);
  });

  it('another filesystem in its place: reported with its type and drained', () => {
    const p = phase('wrong-fstype');
    expect(p.reason).toBe(`storage: ${MNT} has filesystem type tmpfs, expected nfs4`);
    expect(p.effectiveWeight).toBe(0);
  });

  it('NFS mounted again: restored, traffic shared again, vsctl shows the agent up; both daemons ran throughout', () => {
    const p = phase('restored');
    expect(p.spread).toEqual({ 'nfs-web': 5, 'local-web': 5 });
    const a = vsctlSnapshot('restored').agents.find((x: any) => x.agent === 'nfs-web');
    expect(a).toMatchObject({ state: 'up', connected: true, storageProblems: [], realServers: [{ server: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }] });
    expect(res.agentExit).toEqual({ code: null, signal: null });
    expect(res.vsdExit).toEqual({ code: null, signal: null });
  });
});
