/**
 * The metrics listener and status page of an HA pair: two real vsd processes in namespaces (lvs1 priority 150,
 * lvs2 100) with VRRP, peer sync, health checks and two web servers. Each node's page shows its own VRRP state and
 * the peer's (lvs2 learns the MASTER from its adverts; lvs1 infers the silent BACKUP from peer sync); /metrics passes
 * promtool with the VRRP state sets; a browser in the client namespace loads both pages (screenshots in
 * test-artifacts/).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, SEED_HOSTS, waitFor, type Lab } from '../lib/netns.js';
import { requireBuild, startVsd, startWebServer, tempDir, waitReady, writeFile, type VsdProcess } from '../lib/vsd-proc.js';
import { artifactsDir, dumpDom, screenshot } from '../../packages/daemon/test/chromium.js';
import { promtoolCheck } from '../../packages/daemon/test/promtool.js';

const VIP = '10.77.0.100';

interface StatusJson {
  dispatchers: Array<{ which: string; name: string; address: string | null; state: string; priority: number | null; source: string; vips: string[] }>;
  sync: { connected: boolean; inSync: boolean } | null;
  services: Array<{ key: string; realServers: Array<{ key: string; state: string; effectiveWeight: number; health: { state: string } | null }> }>;
}

describe('status page and metrics of an HA pair in namespaces', () => {
  let lab: Lab;
  let dir: string;
  const vsd: Record<string, VsdProcess> = {};

  const config = (name: 'lvs1' | 'lvs2') => ({
    dataplane: 'proxy',
    ha: { instance: 'VI_1', interface: 'eth0', vrid: 53, priority: name === 'lvs1' ? 150 : 100, advert_int: 0.05, vips: [`${VIP}/24`] },
    peer: { listen: `${lab.host(name).ip}:9181`, address: `${lab.host(name === 'lvs1' ? 'lvs2' : 'lvs1').ip}:9181`, key_file: `${dir}/peer.key`, id: name },
    metrics: { listen: `${lab.host(name).ip}:9184`, refresh: 0 },
    virtual_servers: [
      {
        address: `${VIP}:80`,
        lb_algo: 'wrr',
        delay_loop: 0.5,
        real_servers: [
          { address: `${lab.host('web1').ip}:80`, weight: 2, checks: [{ tcp_check: {}, connect_timeout: 1 }] },
          { address: `${lab.host('web2').ip}:80`, weight: 1, checks: [{ tcp_check: {}, connect_timeout: 1 }] },
        ],
      },
    ],
  });
  const get = async (from: string, node: string, path: string) => {
    const r = await lab.host(from).exec('curl', ['-s', '--max-time', '3', `http://${lab.host(node).ip}:9184${path}`]);
    if (r.code !== 0) throw new Error(`curl ${node}${path} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const status = async (node: string) => JSON.parse(await get('client', node, '/status.json')) as StatusJson;

  beforeAll(async () => {
    requireBuild();
    lab = await createLab(SEED_HOSTS);
    dir = tempDir('status');
    writeFile(dir, 'peer.key', 'a-pre-shared-key-for-the-pair\n');
    const w1 = startWebServer(lab.host('web1'), 80, 'this is test 1 web');
    const w2 = startWebServer(lab.host('web2'), 80, 'this is test 2 web');
    await Promise.all([waitReady(w1, 'web1'), waitReady(w2, 'web2')]);
    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config('lvs1') });
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config('lvs2') });
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('shows this node from its VRRP instance and the peer from its adverts or from peer sync', async () => {
    await waitFor(
      'lvs1 MASTER, lvs2 BACKUP, peer sync up, both real servers up',
      async () => {
        const [s1, s2] = [await status('lvs1'), await status('lvs2')];
        const up = (s: StatusJson) => s.services[0]?.realServers.every((r) => r.health?.state === 'up' && r.state === 'serving');
        return s1.dispatchers[0]!.state === 'MASTER' && s2.dispatchers[0]!.state === 'BACKUP' && s1.sync?.connected && s2.sync?.connected && up(s1) && up(s2);
      },
      15_000,
      200,
    );
    const s1 = await status('lvs1');
    const s2 = await status('lvs2');
    expect(s1.dispatchers[0]).toMatchObject({ which: 'this node', name: 'lvs1', state: 'MASTER', priority: 150, address: '10.77.0.11', vips: [`${VIP}/24`] });
    expect(s1.dispatchers[1]).toMatchObject({ which: 'peer', name: 'lvs2', state: 'BACKUP', source: 'inferred: alive on peer sync, not advertising' });
    expect(s2.dispatchers[0]).toMatchObject({ which: 'this node', name: 'lvs2', state: 'BACKUP', priority: 100, address: '10.77.0.12', vips: [] });
    expect(s2.dispatchers[1]).toMatchObject({ which: 'peer', name: 'lvs1', state: 'MASTER', address: '10.77.0.11', source: 'its VRRP adverts' });
    expect(s1.services[0]!.realServers.map((r) => r.effectiveWeight)).toEqual([2, 1]);
  });

  it('exports the VRRP state sets and peer sync on both nodes; promtool accepts both', async () => {
    for (const [node, state, priority] of [
      ['lvs1', 'MASTER', 150],
      ['lvs2', 'BACKUP', 100],
    ] as const) {
      const text = await get('client', node, '/metrics');
      expect(promtoolCheck(text)).toEqual({ code: 0, output: '' });
      const l = 'vrrp_instance="VI_1",vrid="53",interface="eth0"';
      for (const s of ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP']) expect(text).toContain(`vsd_vrrp_state{${l},state="${s}"} ${s === state ? 1 : 0}\n`);
      expect(text).toContain(`vsd_vrrp_priority{${l}} ${priority}\n`);
      expect(text).toContain('vsd_sync_connected 1\n');
      expect(text).toMatch(/^vsd_vrrp_transitions_total\{[^}]*\} [1-9]\d*$/m);
      expect(text).toMatch(new RegExp(`^vsd_vrrp_adverts_${node === 'lvs1' ? 'sent' : 'received'}_total\\{[^}]*\\} [1-9]\\d*$`, 'm'));
      expect(text).toContain(`vsd_health_real_server_up{service="tcp ${VIP}:80",real_server="10.77.0.21:80"} 1\n`);
    }
  });

  it('renders both pages in a browser in the client namespace', async () => {
    const prefix = ['ip', 'netns', 'exec', lab.host('client').ns];
    for (const [node, self, peer] of [
      ['lvs1', 'MASTER', 'BACKUP'],
      ['lvs2', 'BACKUP', 'MASTER'],
    ] as const) {
      const url = `http://${lab.host(node).ip}:9184/status`;
      const dom = await dumpDom(url, { prefix });
      const rows = [...dom.matchAll(/<tr class="dispatcher" data-which="([^"]+)">([\s\S]*?)<\/tr>/g)].map((m) => [
        m[1],
        m[2]!
          .replace(/<[^>]+>/g, ' ')
          .replace(/\s+/g, ' ')
          .trim(),
      ]);
      expect(rows[0]![0]).toBe('this node');
      expect(rows[0]![1]).toContain(` ${self} `);
      expect(rows[0]![1]).toMatch(new RegExp(`^this node ${node} `));
      expect(dom).toContain(`<title>vsd on ${node}</title>`);
      expect(rows[1]![0]).toBe('peer');
      expect(rows[1]![1]).toContain(` ${peer} `);
      expect(dom).toContain(`data-service="tcp ${VIP}:80"`);
      await screenshot(url, join(artifactsDir(), `status-pair-${node}.png`), '1400,600', { prefix });
    }
  });
});
