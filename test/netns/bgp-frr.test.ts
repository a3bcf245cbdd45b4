/**
 * The FRR backend (`bgp.daemon: frr`): one dispatcher runs BIRD, the other FRR's bgpd, both with vsd, behind the
 * upstream BIRD router with ECMP. vsd drives bgpd through its vty socket (`network` statements): both paths appear,
 * `vsctl bgp drain` on the FRR dispatcher withdraws its path and undrain restores it, SIGTERM withdraws before vsd exits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../lib/netns.js';
import { requireBuild, tempDir, type VsdProcess } from '../lib/vsd-proc.js';
import {
  createBgpLab,
  dispatcherBirdConf,
  dispatcherFrrConf,
  frrVtySocket,
  load,
  startBird,
  startDispatcher,
  startEchoServer,
  startFrr,
  type BgpLab,
} from './bgp-lab.js';

const VIP = '10.78.9.2';

describe('BGP through FRR and BIRD dispatchers', () => {
  let l: BgpLab;
  const vsd: Record<string, VsdProcess> = {};

  beforeAll(async () => {
    requireBuild();
    l = await createBgpLab(tempDir('bgp-frr'), 2, 1);
    await startEchoServer(l.realServers[0]!, 8080);
    const [d1, d2] = l.dispatchers as [(typeof l.dispatchers)[0], (typeof l.dispatchers)[0]];
    for (const d of [d1, d2]) expect((await d.exec('ip', ['addr', 'add', `${VIP}/32`, 'dev', 'lo'])).code).toBe(0);
    l.birds.set(d1.name, await startBird(d1, l.dir, dispatcherBirdConf(d1, [VIP])));
    await startFrr(d2, l.dir, dispatcherFrrConf(d2));
    const services = { virtual_servers: [{ address: `${VIP}:80`, real_servers: [{ address: `${l.realServers[0]!.ip}:8080` }] }] };
    vsd.d1 = await startDispatcher(l, d1, { vip: VIP, config: services });
    vsd.d2 = await startDispatcher(l, d2, { vip: VIP, config: { ...services, bgp: { daemon: 'frr', socket: frrVtySocket(l.dir, d2), bfd: false } } });
    await waitFor('two paths to the VIP on the router', async () => (await l.paths(VIP)).length === 2, 30_000, 100);
  }, 90_000);

  afterAll(async () => {
    await l?.destroy();
  });

  it('announces through bgpd, drains and undrains, withdraws on SIGTERM', async () => {
    const [d1, d2] = l.dispatchers as [(typeof l.dispatchers)[0], (typeof l.dispatchers)[0]];
    const st = JSON.parse((await vsd.d2!.vsctl('--json', 'bgp')).stdout) as {
      daemon: string;
      vips: Array<{ state: string; route: string }>;
      sessions: Array<{ info: string }>;
    };
    expect(st).toMatchObject({ daemon: 'frr', vips: [{ state: 'announced', route: `network ${VIP}/32` }], sessions: [{ info: 'Established' }] });
    const answers = await load(l.client, VIP, 80, { count: 20, timeoutMs: 2000, maxMs: 20_000 });
    expect(answers.filter(([, a]) => a.startsWith('ERR'))).toEqual([]);

    const drain = await vsd.d2!.vsctl('bgp', 'drain');
    expect(drain.code).toBe(0);
    await waitFor('one path', async () => (await l.paths(VIP)).join() === d1.ip, 5000, 10);
    expect((await vsd.d2!.vsctl('bgp', 'undrain')).code).toBe(0);
    await waitFor('two paths again', async () => (await l.paths(VIP)).length === 2, 5000, 10);

    const term = Date.now();
    const exited = new Promise<number>((r) => vsd.d2!.proc.once('exit', () => r(Date.now() - term)));
    vsd.d2!.proc.kill('SIGTERM');
    await waitFor('the router drops the FRR path', async () => !(await l.paths(VIP)).includes(d2.ip), 5000, 10);
    const withdrawn = Date.now() - term;
    const exitMs = await exited;
    console.log(`[bgp-frr] SIGTERM: the FRR dispatcher's path gone after ${withdrawn} ms, vsd exited after ${exitMs} ms`);
    expect(withdrawn).toBeLessThan(exitMs);
  });
});
