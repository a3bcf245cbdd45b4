/**
 * Load feedback end to end: two real servers behind a vsd dispatcher (proxy dataplane, wrr), each with a vsd-agent
 * whose load signal the test controls (a fake loadavg under proc_root). The agent's weight percentage becomes the
 * effective weight, and the client sees the distribution of new connections follow it.
 */
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, waitFor, type Lab } from '../lib/netns.js';
import { agentArgs, KEY, fakeProc, realServer, startDispatcher, writeAgentConfig, type Dispatcher } from './agent-helpers.js';

const WEB = `require('http').createServer((q, s) => s.end(process.argv[1])).listen(8080, '0.0.0.0', () => process.stdout.write('listening\\n'))`;

describe('agents: load feedback steers new connections', () => {
  let lab: Lab;
  let dir: string;
  let vsd: Dispatcher;
  const webs: Record<string, ChildProcess> = {};
  const eff = async (rs: string) => (await realServer(vsd.client, rs)).effectiveWeight;

  async function startWeb(h: string): Promise<ChildProcess> {
    const web = lab.host(h).spawn(process.execPath, ['-e', WEB, h]);
    await waitFor(`${h} web server`, () => new Promise<boolean>((r) => web.stdout!.once('data', () => r(true))), 20_000);
    return web;
  }

  /** `n` new connections from the client; count of answers per real server. */
  async function spread(n: number): Promise<Record<string, number>> {
    const r = await lab
      .host('client')
      .exec('sh', ['-c', `for i in $(seq ${n}); do curl -s --max-time 3 http://10.77.0.11/; echo; done`], { timeoutMs: 60_000 });
    const counts: Record<string, number> = {};
    for (const line of r.stdout.split('\n').filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1;
    return counts;
  }

  beforeAll(async () => {
    lab = await createLab([
      { name: 'client', address: '10.77.0.2/24' },
      { name: 'lvs1', address: '10.77.0.11/24' },
      { name: 'web1', address: '10.77.0.21/24' },
      { name: 'web2', address: '10.77.0.22/24' },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'vsdt-agent-load-'));
    writeFileSync(join(dir, 'agent.key'), KEY);
    for (const h of ['web1', 'web2']) webs[h] = await startWeb(h);
    vsd = await startDispatcher(
      lab.host('lvs1'),
      dir,
      `
agents: { listen: 10.77.0.11:9182, key_file: ${join(dir, 'agent.key')}, silent_after: 10 }
virtual_servers:
  - address: 10.77.0.11:80
    lb_algo: wrr
    lb_kind: NAT
    real_servers:
      - { address: 10.77.0.21:8080, weight: 100 }
      - { address: 10.77.0.22:8080, weight: 100 }
`,
      'proxy',
    );
    for (const h of ['web1', 'web2']) {
      const cfg = writeAgentConfig(join(dir, h), {
        name: h,
        dispatchers: ['10.77.0.11:9182'],
        keyFile: join(dir, 'agent.key'),
        procRoot: fakeProc(join(dir, h, 'proc'), 0),
        probe: { http_get: { url: 'http://127.0.0.1:8080/' }, timeout: 3 },
      });
      lab.host(h).spawn(process.execPath, agentArgs('--config', cfg));
    }
    await waitFor(
      'agents up',
      async () => (await vsd.client.get<{ agents: Array<{ state: string }> }>('/v1/agents')).agents.filter((a) => a.state === 'up').length === 2,
      30_000,
    );
  });

  afterAll(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('splits evenly while both nodes are idle', async () => {
    expect([await eff('10.77.0.21:8080'), await eff('10.77.0.22:8080')]).toEqual([100, 100]);
    expect(await spread(20)).toEqual({ web1: 10, web2: 10 });
  });

  it('sends fewer new connections to a loaded node, in the proportion of its weight percentage', async () => {
    // 1.35 load per core is half way between the default marks 0.7 and 2.0: 100 - 90 x 0.5 = 55 %.
    fakeProc(join(dir, 'web2', 'proc'), 1.35 * cpus().length);
    await waitFor('web2 at 55 %', async () => (await eff('10.77.0.22:8080')) === 55, 15_000);
    const rs = await realServer(vsd.client, '10.77.0.22:8080');
    // The reason names the weight the agent asks for and the load it comes from (1.35 per CPU).
    expect(rs.sources.agent).toEqual({ factor: 0.55, reason: expect.stringMatching(/^agent: weight 55% from load \(1\.35 per CPU, cpu \d+%, memory \d+%\)$/) });
    // wrr with weights 100:55 (gcd 5) repeats every 31 picks: 20 and 11.
    expect(await spread(62)).toEqual({ web1: 40, web2: 22 });
  });

  it('gives the node its full weight back when the load is gone', async () => {
    fakeProc(join(dir, 'web2', 'proc'), 0);
    await waitFor('web2 back to 100 %', async () => (await eff('10.77.0.22:8080')) === 100, 15_000);
    expect(await spread(20)).toEqual({ web1: 10, web2: 10 });
  });

  it('drains a node whose local service probe fails and restores it when it serves again', async () => {
    webs.web2!.kill('SIGKILL');
    await waitFor('web2 drained', async () => (await eff('10.77.0.22:8080')) === 0, 15_000);
    // Refused once the server is gone; reset when the kill caught a probe's connection in the server's accept queue.
    expect((await realServer(vsd.client, '10.77.0.22:8080')).sources.agent?.reason).toMatch(
      /^agent: service probe failed \(HTTP: (ECONNREFUSED|ECONNRESET)\)$/,
    );
    expect(await spread(6)).toEqual({ web1: 6 });
    webs.web2 = await startWeb('web2');
    await waitFor('web2 restored', async () => (await eff('10.77.0.22:8080')) === 100, 15_000);
  });
});
