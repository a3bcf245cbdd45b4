/**
 * Shared-storage status from vsd-agents to a real vsd dispatcher, in namespaces: a watched mount that becomes
 * read-only, is unmounted, is replaced by one from the wrong source, holds a different sentinel, or hangs (a FUSE
 * server that never answers) is reported within the probe timeout while the agent keeps running; the dispatcher
 * drains the real server and restores it after repair. A silent agent is drained too; a wrong key is refused and logged.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, waitFor, type Lab } from '../lib/netns.js';
import {
  agentArgs,
  KEY,
  fakeProc,
  inMountNs,
  mountHungFuse,
  mountNamespace,
  realServer,
  run,
  sha256,
  spawnIn,
  startDispatcher,
  stopAll,
  writeAgentConfig,
  type Dispatcher,
} from './agent-helpers.js';

const SENTINEL = 'release 42\n';
const WEB1 = '10.77.0.21:8080';
const WEB2 = '10.77.0.22:8080';

describe('agents: storage status drains and restores real servers', () => {
  let lab: Lab;
  let dir: string;
  let vsd: Dispatcher;
  let holder1: number;
  let holder2: number;
  let agent1: ChildProcess;
  const share = (h: string) => join(dir, h, 'share');
  const cache = (h: string) => join(dir, h, 'cache');

  async function mountShare(holder: number, h: string, source = `share-${h}`): Promise<void> {
    await inMountNs(holder, 'mount', ['-t', 'tmpfs', '-o', 'size=1m', source, share(h)]);
    await inMountNs(holder, 'sh', ['-c', `printf '%s' "$1" > "$2"`, 'sh', SENTINEL, join(share(h), '.vsd-sentinel')]);
  }

  const eff = async (rs: string) => (await realServer(vsd.client, rs)).effectiveWeight;
  const storageReason = async (rs: string) => (await realServer(vsd.client, rs)).sources.storage?.reason ?? null;

  beforeAll(async () => {
    lab = await createLab([
      { name: 'lvs1', address: '10.77.0.11/24' },
      { name: 'web1', address: '10.77.0.21/24' },
      { name: 'web2', address: '10.77.0.22/24' },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'vsdt-agent-storage-'));
    writeFileSync(join(dir, 'agent.key'), KEY);
    writeFileSync(join(dir, 'wrong.key'), 'this-is-not-the-agent-key-at-all');
    vsd = await startDispatcher(
      lab.host('lvs1'),
      dir,
      `
dataplane: none
agents: { listen: 10.77.0.11:9182, key_file: ${join(dir, 'agent.key')}, silent_after: 8, sentinels: { share: ${sha256(SENTINEL)} } }
virtual_servers:
  - address: 10.77.0.100:80
    lb_algo: wrr
    real_servers:
      - { address: ${WEB1}, weight: 100 }
      - { address: ${WEB2}, weight: 100 }
`,
    );
    holder1 = await mountNamespace(lab.host('web1'));
    holder2 = await mountNamespace(lab.host('web2'));
    for (const [h, holder] of [
      ['web1', holder1],
      ['web2', holder2],
    ] as const) {
      mkdirSync(share(h), { recursive: true });
      mkdirSync(cache(h), { recursive: true });
      await mountShare(holder, h);
      await inMountNs(holder, 'mount', ['-t', 'tmpfs', '-o', 'size=1m', `cache-${h}`, cache(h)]);
      const cfg = writeAgentConfig(join(dir, h), {
        name: h,
        dispatchers: ['10.77.0.11:9182'],
        keyFile: join(dir, 'agent.key'),
        procRoot: fakeProc(join(dir, h, 'proc'), 0),
        mounts: [
          { path: share(h), fstype: 'tmpfs', source: `share-${h}`, sentinel: '.vsd-sentinel', group: 'share', timeout: 3 },
          // No expectations on the second mount: only the probe judges it (the hang scenario).
          { path: cache(h), timeout: 2 },
        ],
      });
      const p = spawnIn(holder, process.execPath, agentArgs('--config', cfg));
      if (h === 'web1') agent1 = p;
    }
    await waitFor(
      'both agents reporting, healthy',
      async () =>
        (await eff(WEB1)) === 100 &&
        (await eff(WEB2)) === 100 &&
        (await vsd.client.get<{ agents: Array<{ state: string }> }>('/v1/agents')).agents.filter((a) => a.state === 'up').length === 2,
      30_000,
    );
  });

  afterAll(async () => {
    stopAll();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('maps each agent to its real server and shows the host mounts untouched', async () => {
    const st = await vsd.client.get<{ agents: Array<{ agent: string; realServers: Array<{ server: string }> }> }>('/v1/agents');
    expect(st.agents.map((a) => [a.agent, a.realServers.map((r) => r.server)])).toEqual([
      ['web1', [WEB1]],
      ['web2', [WEB2]],
    ]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(dir);
  });

  it('drains a read-only mount and restores it when remounted read-write', async () => {
    await inMountNs(holder1, 'mount', ['-o', 'remount,ro', share('web1')]);
    await waitFor('drained', async () => (await storageReason(WEB1)) === `storage: ${share('web1')} is mounted read-only`, 10_000);
    expect(await eff(WEB1)).toBe(0);
    expect(await eff(WEB2)).toBe(100);
    await inMountNs(holder1, 'mount', ['-o', 'remount,rw', share('web1')]);
    await waitFor('restored', async () => (await eff(WEB1)) === 100, 10_000);
  });

  it('drains an unmounted share and restores it after remount', async () => {
    await inMountNs(holder1, 'umount', [share('web1')]);
    await waitFor('drained', async () => (await storageReason(WEB1)) === `storage: ${share('web1')} is not mounted`, 10_000);
    expect(await eff(WEB1)).toBe(0);
    await mountShare(holder1, 'web1');
    await waitFor('restored', async () => (await eff(WEB1)) === 100, 10_000);
  });

  it('drains a share mounted from the wrong source', async () => {
    await inMountNs(holder1, 'umount', [share('web1')]);
    await mountShare(holder1, 'web1', 'impostor');
    await waitFor('drained', async () => (await storageReason(WEB1)) === `storage: ${share('web1')} is mounted from impostor, expected share-web1`, 10_000);
    await inMountNs(holder1, 'umount', [share('web1')]);
    await mountShare(holder1, 'web1');
    await waitFor('restored', async () => (await eff(WEB1)) === 100, 10_000);
  });

  it('drains a node whose sentinel differs from the pinned hash', async () => {
    const f = join(share('web2'), '.vsd-sentinel');
    await inMountNs(holder2, 'sh', ['-c', `printf 'stale copy\\n' > "$1"`, 'sh', f]);
    await waitFor('drained', async () => /sentinel differs from group share \(config\)/.test((await storageReason(WEB2)) ?? ''), 10_000);
    const w1 = await realServer(vsd.client, WEB1);
    expect({ eff: w1.effectiveWeight, sources: w1.sources }).toEqual({
      eff: 100,
      sources: { agent: { factor: 1, reason: expect.stringMatching(/^agent: weight 100% from load /) } },
    });
    await inMountNs(holder2, 'sh', ['-c', `printf '%s' "$1" > "$2"`, 'sh', SENTINEL, f]);
    await waitFor('restored', async () => (await eff(WEB2)) === 100, 10_000);
  });

  it('reports a hung mount within its timeout, keeps reporting, starts no pile of probes, and recovers', async () => {
    const fuse = await mountHungFuse(holder1, cache('web1'));
    const t0 = Date.now();
    await waitFor('drained', async () => /does not respond/.test((await storageReason(WEB1)) ?? ''), 10_000);
    // timeout 2 s + report interval 0.2 s + probe interval 0.2 s, with slack for a loaded host
    expect(Date.now() - t0).toBeLessThan(9000);
    const seq0 = (await vsd.client.get<{ agents: Array<{ agent: string; report: { seq: number } }> }>('/v1/agents')).agents[0]!.report.seq;
    let maxProbes = 0;
    for (let i = 0; i < 15; i++) {
      const pids = (await run('ip', ['netns', 'pids', lab.host('web1').ns])).stdout.split(/\s+/).filter(Boolean);
      // A probe is one process group: the sh script and the subshells it forks for $(...) share its command line,
      // so processes are counted by group, not one by one.
      const groups = new Set<string>();
      for (const pid of pids) {
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          if (!(cmd.includes('vsd-probe') && cmd.includes(cache('web1')))) continue;
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          groups.add(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]!);
        } catch {
          /* exited */
        }
      }
      maxProbes = Math.max(maxProbes, groups.size);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(maxProbes).toBeLessThanOrEqual(1);
    const st = await vsd.client.get<{ agents: Array<{ agent: string; state: string; ageMs: number; report: { seq: number } }> }>('/v1/agents');
    const a1 = st.agents.find((a) => a.agent === 'web1')!;
    expect(a1.report.seq).toBeGreaterThan(seq0 + 5);
    expect(a1.state).toBe('drained');
    expect(agent1.exitCode).toBeNull();
    // Repair: the server goes away (connection aborted), the dead mount is lazily unmounted.
    process.kill(-fuse.pid!, 'SIGKILL');
    await inMountNs(holder1, 'umount', ['-l', cache('web1')]);
    await waitFor('restored', async () => (await eff(WEB1)) === 100, 15_000);
  });

  it('drains a silent agent after silent_after intervals and restores it when it speaks again', async () => {
    process.kill(agent1.pid!, 'SIGSTOP');
    try {
      await waitFor('drained', async () => /silent for 8 intervals/.test((await realServer(vsd.client, WEB1)).sources.agent?.reason ?? ''), 10_000);
      expect(await eff(WEB1)).toBe(0);
    } finally {
      process.kill(agent1.pid!, 'SIGCONT');
    }
    await waitFor('restored', async () => (await eff(WEB1)) === 100, 10_000);
  });

  it('keeps the agent under 60 MB RSS after all of the above', async () => {
    // Sampled for a few seconds: the heap breathes between collections.
    let max = 0;
    for (let i = 0; i < 10; i++) {
      const status = readFileSync(`/proc/${agent1.pid}/status`, 'utf8');
      max = Math.max(max, Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) / 1024);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(max).toBeLessThan(60);
  });

  it('refuses and logs an agent with the wrong key', async () => {
    const cfg = writeAgentConfig(join(dir, 'intruder'), { name: 'intruder', dispatchers: ['10.77.0.11:9182'], keyFile: join(dir, 'wrong.key') });
    const p = spawnIn(holder2, process.execPath, agentArgs('--config', cfg));
    await waitFor('refused in the log', () => vsd.logs.some((l) => l.msg === 'agent refused' && l.agent === 'intruder' && l.reason === 'wrong key'), 15_000);
    const st = await vsd.client.get<{ agents: Array<{ agent: string }>; counters: { refused: number } }>('/v1/agents');
    expect(st.agents.map((a) => a.agent)).not.toContain('intruder');
    expect(st.counters.refused).toBeGreaterThanOrEqual(1);
    process.kill(-p.pid!, 'SIGKILL');
  });
});
