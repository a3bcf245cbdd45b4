import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AgentHub, parseAgentCheck, parseVirtualService, silentLogger, WeightOverlay, type DesiredState } from '@vsd/core';
import { Agent } from '../src/agent.js';
import { parseAgentConfig } from '../src/config.js';

const KEY = Buffer.from('agent-key-0123456789');
const dir = mkdtempSync(join(tmpdir(), 'vsd-agent-'));
const share = join(dir, 'share');
const mountinfo = join(dir, 'mountinfo');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setMounted(on: boolean, source = 'nfs1:/export'): void {
  const base = '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n';
  writeFileSync(mountinfo, on ? `${base}40 22 0:50 / ${share} rw,relatime - nfs4 ${source} rw\n` : base);
}

const state: DesiredState = {
  version: 1,
  generation: 1,
  services: [parseVirtualService({ protocol: 'tcp', address: '10.0.0.100', port: 80, realServers: [{ address: '10.0.0.1', port: 80, forwarding: 'masq' }] })],
  timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
  syncDaemons: [],
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function agentCheck(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect(port, '127.0.0.1');
    s.on('data', (c) => (text += c.toString()));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

async function setup(key = KEY) {
  const overlay = new WeightOverlay();
  const hub = new AgentHub({ listen: '127.0.0.1:0', key: KEY, id: 'lvs1', overlay, store: { state, subscribe: () => () => {} }, silentAfter: 10, sweepMs: 20 });
  const { port } = await hub.start();
  cleanups.push(() => hub.stop());
  const { mkdirSync } = await import('node:fs');
  mkdirSync(share, { recursive: true });
  setMounted(true);
  const config = parseAgentConfig({
    name: 'web1',
    addresses: ['10.0.0.1'],
    dispatchers: [`127.0.0.1:${port}`],
    key_file: '/unused',
    report_interval: 0.1,
    mounts: [{ path: share, fstype: 'nfs4', source: 'nfs1:/export', timeout: 1 }],
    agent_check: { listen: '127.0.0.1:0' },
    maintenance_file: join(dir, 'maint'),
    load: { enabled: false },
  });
  const agent = new Agent({ config, key, logger: silentLogger, mountinfoFile: mountinfo });
  await agent.start();
  cleanups.push(() => agent.stop());
  const view = () => overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80');
  return { hub, agent, overlay, view };
}

describe('vsd-agent against a hub on loopback', () => {
  it('connects, reports, and the hub drains on an unmounted share and restores after remount', async () => {
    const { hub, agent, view } = await setup();
    await until('up', () => hub.status().agents[0]?.state === 'up');
    expect(agent.status().links[0]).toMatchObject({ state: 'ready', peer: 'lvs1' });
    expect(view().factor).toBe(1);
    setMounted(false);
    await until('drained', () => view().sources.storage?.reason === `storage: ${share} is not mounted`);
    expect(view().factor).toBe(0);
    setMounted(true, 'evil:/x');
    await until('wrong source', () => /mounted from evil:\/x/.test(view().sources.storage?.reason ?? ''));
    setMounted(true);
    await until('restored', () => view().factor === 1);
  });

  it('answers HAProxy agent-check from the same state, including maintenance', async () => {
    const { agent } = await setup();
    const port = (agent as unknown as { checkServer: { server: { address(): { port: number } } } }).checkServer.server.address().port;
    await until('first probe', () => agent.status().report?.mounts[0]?.responsive === true);
    expect(parseAgentCheck(await agentCheck(port))).toEqual({ state: 'up', admin: 'ready', weightPct: 100, unknown: [] });
    setMounted(false);
    await until('down', () => agent.status().report?.mounts[0]?.present === false);
    expect(await agentCheck(port)).toBe(`down #storage broken: ${share} is not mounted\n`);
    setMounted(true);
    writeFileSync(join(dir, 'maint'), '');
    await until('maint', () => agent.status().report?.maintenance === true);
    expect(await agentCheck(port)).toBe('maint\n');
    rmSync(join(dir, 'maint'));
  });

  it('is refused with a wrong key and keeps retrying without reporting', async () => {
    const { hub, agent } = await setup(Buffer.from('a-different-key-0123'));
    await until('refused twice', () => hub.status().counters.refused >= 2);
    expect(hub.status().agents).toEqual([]);
    expect(agent.status().links[0]).toMatchObject({ lastError: 'dispatcher failed to prove the shared key', connects: 0 });
  });

  it('reconnects after the dispatcher restarts', async () => {
    const { hub, agent } = await setup();
    await until('up', () => agent.status().links[0]?.state === 'ready');
    const port = hub.address()!.port;
    await hub.stop();
    await until('lost', () => agent.status().links[0]?.state !== 'ready');
    const overlay = new WeightOverlay();
    const hub2 = new AgentHub({ listen: `127.0.0.1:${port}`, key: KEY, id: 'lvs1b', overlay, store: { state, subscribe: () => () => {} } });
    await hub2.start();
    cleanups.push(() => hub2.stop());
    await until('reconnected', () => agent.status().links[0]?.peer === 'lvs1b' && agent.status().links[0]?.state === 'ready');
  });
});
