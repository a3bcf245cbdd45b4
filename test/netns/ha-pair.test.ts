/**
 * The HA pair end to end, in the seed's topology (client, lvs1, lvs2, web1, web2 as namespaces on one bridge):
 * real vsd processes with the proxy dataplane, real VRRP, GARP seen by the client, peer sync, vsadm and vsctl.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, jsonLines, SEED_HOSTS, waitExit, waitFor, type Lab } from '../lib/netns.js';
import { REPO, requireBuild, startVsd, startWebServer, tempDir, waitReady, writeFile, type VsdProcess } from '../lib/vsd-proc.js';

const VIP = '10.77.0.100';
const URL_VIP = `http://${VIP}/`;
const PROBE = `${REPO}/test/lib/probe-client.mjs`;

interface HaStatus {
  vrrp: { state: string; masterAddress: string | null; vipsHeld: string[]; lastTransition: { reason: string } | null } | null;
  sync: { inSync: boolean; generation: number; lastApplyLagMs: number | null; connected: boolean } | null;
}

describe('HA pair in namespaces', () => {
  let lab: Lab;
  let dir: string;
  const vsd: Record<string, VsdProcess> = {};

  const config = (name: 'lvs1' | 'lvs2', priority: number) => ({
    dataplane: 'proxy',
    ha: { instance: 'VI_1', interface: 'eth0', vrid: 51, priority, advert_int: 0.05, vips: [`${VIP}/24`] },
    peer: {
      listen: `${lab.host(name).ip}:9181`,
      address: `${lab.host(name === 'lvs1' ? 'lvs2' : 'lvs1').ip}:9181`,
      key_file: `${dir}/peer.key`,
      id: name,
    },
  });
  const start = async (name: 'lvs1' | 'lvs2') => {
    vsd[name] = await startVsd(lab.host(name), { dir, name, config: config(name, name === 'lvs1' ? 150 : 100) });
    return vsd[name]!;
  };
  const ha = (name: string) => vsd[name]!.api<HaStatus>('/v1/ha');
  const state = async (name: string) => (await ha(name)).vrrp?.state;
  const curl = async (source?: string) => {
    const r = await lab.host('client').exec('curl', ['-s', '--max-time', '2', ...(source ? ['--interface', source] : []), URL_VIP]);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    requireBuild();
    lab = await createLab(SEED_HOSTS);
    dir = tempDir('ha');
    writeFile(dir, 'peer.key', 'a-pre-shared-key-for-the-pair\n');
    await lab.host('client').exec('ip', ['addr', 'add', '10.77.0.3/24', 'dev', 'eth0']);
    const w1 = startWebServer(lab.host('web1'), 80, 'this is test 1 web');
    const w2 = startWebServer(lab.host('web2'), 80, 'this is test 2 web');
    await Promise.all([waitReady(w1, 'web1'), waitReady(w2, 'web2')]);
    await start('lvs1');
    await start('lvs2');
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('elects lvs1 (priority 150) as MASTER; lvs2 stays BACKUP without the VIP', async () => {
    await waitFor('lvs1 MASTER', async () => (await state('lvs1')) === 'MASTER', 5000);
    expect(await state('lvs2')).toBe('BACKUP');
    const h1 = await ha('lvs1');
    expect(h1.vrrp!.vipsHeld).toContain(`${VIP}/24`);
    const a2 = await lab.host('lvs2').exec('ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
    expect(a2.stdout).not.toContain(VIP);
  });

  it('replicates a vsadm change on lvs1 to lvs2 within 100 ms, and refuses changes on the BACKUP', async () => {
    await waitFor('peer link', async () => (await ha('lvs2')).sync?.connected === true, 5000);
    const before = (await ha('lvs2')).sync!.generation;
    let r = await vsd.lvs1!.vsadm('-A', '-t', `${VIP}:80`, '-s', 'rr', '-p', '60');
    expect(r.stderr).toBe('');
    const t0 = Date.now();
    await waitFor('lvs2 to see the service', async () => (await ha('lvs2')).sync!.generation > before, 2000, 5);
    const polled = Date.now() - t0;
    const lag = (await ha('lvs2')).sync!.lastApplyLagMs!;
    process.stdout.write(`peer sync: lvs2 applied lvs1's transaction ${lag} ms after its commit (seen by polling after ${polled} ms)\n`);
    expect(lag).toBeLessThan(100);
    for (const web of ['web1', 'web2']) {
      r = await vsd.lvs1!.vsadm('-a', '-t', `${VIP}:80`, '-r', `${lab.host(web).ip}:80`, '-m', '-w', '1');
      expect(r.code).toBe(0);
    }
    await waitFor('in sync', async () => (await ha('lvs1')).sync!.inSync && (await ha('lvs2')).sync!.inSync, 3000);
    const l2 = await vsd.lvs2!.vsadm('-L', '-n');
    const l1 = await vsd.lvs1!.vsadm('-L', '-n');
    expect(l2.stdout).toBe(l1.stdout);
    expect(l2.stdout).toContain('10.77.0.22:80');
    const refused = await vsd.lvs2!.vsadm('-D', '-t', `${VIP}:80`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/BACKUP|MASTER/);
  });

  it('serves the VIP through lvs1, alternating and keeping a persistent client on its real server', async () => {
    const first = await curl('10.77.0.3');
    const second = await curl('10.77.0.2');
    expect(new Set([first, second])).toEqual(new Set(['this is test 1 web', 'this is test 2 web']));
    expect(await curl('10.77.0.2')).toBe(second);
  });

  it('fails over to lvs2 when lvs1 is SIGKILLed: the client is answered through the VIP within 300 ms and learns lvs2 MAC', async () => {
    const persistentBefore = await curl('10.77.0.2');
    await new Promise((r) => setTimeout(r, 400)); // let the persistence template reach lvs2
    const neighBefore = await lab.host('client').exec('ip', ['neigh', 'show', VIP]);
    expect(neighBefore.stdout.toLowerCase()).toContain(lab.host('lvs1').mac);
    const probe = lab.host('client').spawn(process.execPath, [PROBE, URL_VIP, '10', '100', '4000']);
    const lines = jsonLines(probe);
    await waitFor('probe running', () => lines.some((l) => l.ok), 3000);
    const killedAt = Date.now();
    vsd.lvs1!.proc.kill('SIGKILL');
    await waitExit(vsd.lvs1!.proc, 2000);
    await waitFor('lvs2 MASTER', async () => (await state('lvs2')) === 'MASTER', 3000, 10);
    const firstOk = await waitFor('an answer through the VIP after the kill', () => lines.find((l) => l.ok && (l.start as number) >= killedAt), 3000);
    const ms = (firstOk.end as number) - killedAt;
    process.stdout.write(`failover: client answered through the VIP ${ms} ms after SIGKILL of the master\n`);
    expect(ms).toBeLessThanOrEqual(300);
    const neighAfter = await lab.host('client').exec('ip', ['neigh', 'show', VIP]);
    expect(neighAfter.stdout.toLowerCase()).toContain(lab.host('lvs2').mac);
    expect(await curl('10.77.0.2')).toBe(persistentBefore);
    await waitExit(probe, 5000);
  });

  it('lets lvs1 come back with its state and preempt (higher priority)', async () => {
    await start('lvs1');
    await waitFor('lvs1 MASTER again', async () => (await state('lvs1')) === 'MASTER', 5000);
    await waitFor('lvs2 BACKUP', async () => (await state('lvs2')) === 'BACKUP', 3000);
    expect(['this is test 1 web', 'this is test 2 web']).toContain(await curl());
  });

  it('moves the VIP with vsctl failover on the MASTER and back with vsctl takeover on the BACKUP', async () => {
    const bad = await vsd.lvs2!.vsctl('failover');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr + bad.stdout).toMatch(/BACKUP/);
    const r = await vsd.lvs1!.vsctl('failover');
    expect(r.code).toBe(0);
    await waitFor('lvs2 MASTER after failover', async () => (await state('lvs2')) === 'MASTER', 2000, 10);
    expect(await state('lvs1')).toBe('BACKUP');
    expect(['this is test 1 web', 'this is test 2 web']).toContain(await curl());
    const t = await vsd.lvs1!.vsctl('takeover');
    expect(t.code).toBe(0);
    await waitFor('lvs1 MASTER after takeover', async () => (await state('lvs1')) === 'MASTER', 2000, 10);
    await waitFor('lvs2 BACKUP after takeover', async () => (await state('lvs2')) === 'BACKUP', 2000, 10);
    const s = await vsd.lvs1!.vsctl('status', '--json');
    expect(JSON.parse(s.stdout)).toBeTruthy();
  });

  it('catches up a peer restarted with an empty state file', async () => {
    vsd.lvs2!.proc.kill('SIGTERM');
    await waitExit(vsd.lvs2!.proc, 5000);
    const { rmSync } = await import('node:fs');
    rmSync(vsd.lvs2!.state, { force: true });
    await start('lvs2');
    await waitFor('lvs2 caught up', async () => (await ha('lvs2')).sync?.inSync === true, 5000);
    const l2 = await vsd.lvs2!.vsadm('-L', '-n');
    expect(l2.stdout).toContain('10.77.0.21:80');
  });
});
