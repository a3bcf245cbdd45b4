/**
 * vrrp_sync_group with real vsd processes in the seed topology: VI_1 (VIP1) and VI_2 (VIP2) in group G1 on lvs1
 * and lvs2, lvs1 preferred for both. A failing track script on lvs1's VI_1 puts VI_2 in FAULT too, so lvs2 takes both
 * VIPs; `vsctl failover VI_2` moves VI_1 with it. Figures are printed.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, SEED_HOSTS, waitExit, waitFor, type Lab } from '../lib/netns.js';
import { requireBuild, startVsd, startWebServer, tempDir, waitReady, writeFile, type VsdProcess } from '../lib/vsd-proc.js';

const VIP1 = '10.77.0.100';
const VIP2 = '10.77.0.101';
const WEB = ['this is test 1 web', 'this is test 2 web'];
type Node = 'lvs1' | 'lvs2';

interface HaDoc {
  instances: { instance: string; state: string; externalFaults: string[]; ownFault: boolean; syncGroup?: string }[];
  syncGroups: { name: string; instances: string[] }[];
  sync: { connected: boolean; inSync: boolean } | null;
}

describe('vrrp_sync_group between two vsd processes', () => {
  let lab: Lab;
  let dir: string;
  let failFlag: string;
  const vsd: Partial<Record<Node, VsdProcess>> = {};

  const config = (name: Node) => ({
    dataplane: 'proxy',
    ha: {
      interface: 'eth0',
      advert_int: 0.05,
      priority: name === 'lvs1' ? 150 : 100,
      instances: [
        // lvs1's VI_1 fails while the flag file exists (weight 0: FAULT, keepalived's rule).
        {
          instance: 'VI_1',
          vrid: 51,
          vips: [`${VIP1}/24`],
          ...(name === 'lvs1' ? { track_scripts: [{ script: `test ! -e ${failFlag}`, interval: 0.1, weight: 0 }] } : {}),
        },
        { instance: 'VI_2', vrid: 52, vips: [`${VIP2}/24`] },
      ],
      sync_groups: [{ name: 'G1', instances: ['VI_1', 'VI_2'] }],
    },
    peer: {
      listen: `${lab.host(name).ip}:9181`,
      address: `${lab.host(name === 'lvs1' ? 'lvs2' : 'lvs1').ip}:9181`,
      key_file: `${dir}/peer.key`,
      id: name,
    },
  });
  const ha = (name: Node) => vsd[name]!.api<HaDoc>('/v1/ha');
  const states = async (name: Node) => Object.fromEntries((await ha(name)).instances.map((s) => [s.instance, s.state]));
  const curl = async (vip: string) => (await lab.host('client').exec('curl', ['-s', '--max-time', '2', `http://${vip}/`])).stdout.trim();
  const macFor = async (vip: string) => (await lab.host('client').exec('ip', ['neigh', 'show', vip])).stdout.toLowerCase();
  const both = (name: Node, state: string) => async () => {
    const s = await states(name);
    return s.VI_1 === state && s.VI_2 === state;
  };

  beforeAll(async () => {
    requireBuild();
    lab = await createLab(SEED_HOSTS);
    dir = tempDir('ha-sync-group');
    failFlag = join(dir, 'fail-vi1');
    writeFile(dir, 'peer.key', 'a-pre-shared-key-for-the-pair\n');
    const w1 = startWebServer(lab.host('web1'), 80, WEB[0]!);
    const w2 = startWebServer(lab.host('web2'), 80, WEB[1]!);
    await Promise.all([waitReady(w1, 'web1'), waitReady(w2, 'web2')]);
    for (const name of ['lvs1', 'lvs2'] as const) vsd[name] = await startVsd(lab.host(name), { dir, name, config: config(name) });
    await waitFor('lvs1 MASTER of both', both('lvs1', 'MASTER'), 5000);
    await waitFor('lvs2 BACKUP of both', both('lvs2', 'BACKUP'), 5000);
    await waitFor('peer link', async () => (await ha('lvs2')).sync?.connected === true, 5000);
    for (const vip of [VIP1, VIP2]) {
      expect((await vsd.lvs1!.vsadm('-A', '-t', `${vip}:80`, '-s', 'rr')).code).toBe(0);
      for (const web of ['web1', 'web2'] as const) expect((await vsd.lvs1!.vsadm('-a', '-t', `${vip}:80`, '-r', `${lab.host(web).ip}:80`, '-m')).code).toBe(0);
    }
    await waitFor('in sync', async () => (await ha('lvs1')).sync!.inSync && (await ha('lvs2')).sync!.inSync, 3000);
  }, 60_000);

  afterAll(async () => {
    for (const v of Object.values(vsd)) {
      v?.proc.kill('SIGTERM');
      if (v) await waitExit(v.proc, 5000).catch(() => undefined);
    }
    if (failFlag && existsSync(failFlag)) rmSync(failFlag);
    await lab?.destroy();
  });

  it('a failing tracker of VI_1 takes VI_2 into FAULT too: lvs2 holds both VIPs; both come back when it clears', async () => {
    const t0 = Date.now();
    writeFileSync(failFlag, '');
    await waitFor('lvs1 FAULT of both', both('lvs1', 'FAULT'), 3000, 10);
    await waitFor('lvs2 MASTER of both', both('lvs2', 'MASTER'), 3000, 10);
    const moved = Date.now() - t0;
    const doc = await ha('lvs1');
    expect(doc.syncGroups).toEqual([{ name: 'G1', instances: ['VI_1', 'VI_2'] }]);
    expect(doc.instances.find((s) => s.instance === 'VI_1')).toMatchObject({ ownFault: true, externalFaults: [], syncGroup: 'G1' });
    expect(doc.instances.find((s) => s.instance === 'VI_2')).toMatchObject({ ownFault: false, externalFaults: ['sync_group:G1'] });
    const addrs = (await lab.host('lvs1').exec('ip', ['-o', 'addr', 'show', 'dev', 'eth0'])).stdout;
    expect(addrs).not.toContain(VIP1);
    expect(addrs).not.toContain(VIP2);
    for (const vip of [VIP1, VIP2]) {
      expect(WEB).toContain(await curl(vip));
      expect(await macFor(vip)).toContain(lab.host('lvs2').mac);
    }
    process.stdout.write(`sync group: VI_1 tracker failed -> lvs2 MASTER of VI_1 and VI_2 within ${moved} ms (polled)\n`);

    rmSync(failFlag);
    await waitFor('lvs1 MASTER of both again', both('lvs1', 'MASTER'), 5000, 10);
    await waitFor('lvs2 BACKUP of both again', both('lvs2', 'BACKUP'), 5000, 10);
    expect((await ha('lvs1')).instances.every((s) => s.externalFaults.length === 0)).toBe(true);
  });

  it('`vsctl failover VI_2` moves the whole group; `vsctl release VI_2` brings both back', async () => {
    expect((await vsd.lvs1!.vsctl('failover', 'VI_2')).code).toBe(0);
    await waitFor('lvs2 MASTER of both', both('lvs2', 'MASTER'), 3000, 10);
    expect(await states('lvs1')).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
    for (const vip of [VIP1, VIP2]) expect(WEB).toContain(await curl(vip));
    const text = (await vsd.lvs1!.vsctl('status')).stdout;
    expect(text).toContain('sync group G1: VI_1, VI_2 (change state together)');
    expect((await vsd.lvs1!.vsctl('release', 'VI_2')).code).toBe(0);
    await waitFor('lvs1 MASTER of both again', both('lvs1', 'MASTER'), 3000, 10);
    await waitFor('lvs2 BACKUP of both again', both('lvs2', 'BACKUP'), 3000, 10);
  });
});
