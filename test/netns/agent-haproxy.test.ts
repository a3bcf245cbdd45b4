/**
 * HAProxy interop: a real HAProxy points `agent-check` at vsd-agent's responder and follows what it says:
 * weight percentage, DOWN for broken storage (with the reason as description), MAINT for maintenance, and back.
 */
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, waitFor, type Lab } from '../lib/netns.js';
import { agentArgs, KEY, fakeProc, inMountNs, mountNamespace, spawnIn, stopAll, writeAgentConfig } from './agent-helpers.js';

describe('agents: HAProxy agent-check interop', () => {
  let lab: Lab;
  let dir: string;
  let holder: number;
  let agent: ChildProcess;
  const share = () => join(dir, 'share');
  const maint = () => join(dir, 'maintenance');

  /** The web1 row of HAProxy's `show stat`, as column -> value. */
  function stat(): Promise<Record<string, string>> {
    return new Promise((resolve, reject) => {
      let text = '';
      const s = connect(join(dir, 'haproxy.sock'));
      s.on('connect', () => s.write('show stat\n'));
      s.on('data', (c) => (text += c.toString()));
      s.on('error', reject);
      s.on('end', () => {
        const lines = text.split('\n');
        const cols = lines[0]!.replace(/^# /, '').split(',');
        const row = lines.find((l) => l.startsWith('be,web1,'));
        if (!row) return reject(new Error(`no web1 row in: ${text.slice(0, 200)}`));
        const vals = row.split(',');
        resolve(Object.fromEntries(cols.map((c, i) => [c, vals[i] ?? ''])));
      });
    });
  }

  /** Wait for a `status` column starting with `prefix` ("DOWN (agent)", "MAINT (via agent)"...). */
  async function untilStatus(prefix: string): Promise<void> {
    let seen: Record<string, string> = {};
    await waitFor(prefix, async () => (seen = await stat()).status!.startsWith(prefix), 15_000).catch((e: Error) => {
      throw new Error(`${e.message}; last: ${JSON.stringify({ status: seen.status, weight: seen.weight, last_agt: seen.last_agt })}`);
    });
  }

  beforeAll(async () => {
    lab = await createLab([
      { name: 'lvs1', address: '10.77.0.11/24' },
      { name: 'web1', address: '10.77.0.21/24' },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'vsdt-agent-haproxy-'));
    writeFileSync(join(dir, 'agent.key'), KEY);
    mkdirSync(share());
    holder = await mountNamespace(lab.host('web1'));
    await inMountNs(holder, 'mount', ['-t', 'tmpfs', '-o', 'size=1m', 'share', share()]);
    const cfg = writeAgentConfig(dir, {
      name: 'web1',
      // No dispatcher listens there: the agent keeps retrying, the agent-check responder works on its own.
      dispatchers: ['10.77.0.11:9182'],
      keyFile: join(dir, 'agent.key'),
      procRoot: fakeProc(join(dir, 'proc'), 0),
      mounts: [{ path: share(), fstype: 'tmpfs', timeout: 1 }],
      agentCheck: '0.0.0.0:9183',
    });
    const doc = JSON.parse((await import('node:fs')).readFileSync(cfg, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfg, JSON.stringify({ ...doc, maintenance_file: maint() }));
    agent = spawnIn(holder, process.execPath, agentArgs('--config', cfg));
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      `global
  stats socket ${join(dir, 'haproxy.sock')} mode 600 level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
backend be
  server web1 10.77.0.21:8080 weight 100 check inter 200ms agent-check agent-addr 10.77.0.21 agent-port 9183 agent-inter 200ms
frontend fe
  bind 10.77.0.11:80
  default_backend be
`,
    );
    // A regular check too: HAProxy acts on the agent's words for a server it checks.
    const web = lab.host('web1').spawn(process.execPath, ['-e', "require('net').createServer((s) => s.end()).listen(8080)"]);
    web.stdout!.resume();
    const haproxy = lab.host('lvs1').spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')]);
    let haproxyErr = '';
    haproxy.stderr!.on('data', (c: Buffer) => (haproxyErr += c.toString()));
    haproxy.stdout!.resume();
    await waitFor(
      'HAProxy sees web1 UP at 100',
      async () => {
        if (haproxy.exitCode !== null) throw new Error(`haproxy exited ${haproxy.exitCode}: ${haproxyErr}`);
        const s = await stat();
        return s.status === 'UP' && s.weight === '100';
      },
      30_000,
    );
  });

  afterAll(async () => {
    stopAll();
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('follows the load weight percentage', async () => {
    fakeProc(join(dir, 'proc'), 1.35 * cpus().length);
    await waitFor('weight 55', async () => (await stat()).weight === '55', 15_000);
    fakeProc(join(dir, 'proc'), 0);
    await waitFor('weight 100', async () => (await stat()).weight === '100', 15_000);
  });

  it('goes DOWN with the storage reason when the share is unmounted, and UP after remount', async () => {
    await inMountNs(holder, 'umount', [share()]);
    await untilStatus('DOWN');
    expect((await stat()).last_agt).toBe(`via agent : down (storage broken: ${share()} is not mounted)`);
    await inMountNs(holder, 'mount', ['-t', 'tmpfs', '-o', 'size=1m', 'share', share()]);
    await untilStatus('UP');
  });

  it('goes to MAINT while the maintenance file exists and back to UP (ready) after', async () => {
    writeFileSync(maint(), '');
    await untilStatus('MAINT');
    unlinkSync(maint());
    await untilStatus('UP');
    expect(agent.exitCode).toBeNull();
  });
});
