/**
 * A TCP connection survives losing the dispatcher it went through (issue 19): three dispatchers with the xdp
 * dataplane, DR, scheduler mh (the same Maglev table on all three, built from the same config), announcing the VIP
 * over BGP+BFD to an upstream BIRD router with ECMP; real servers on the dispatchers' L2 with the VIP on lo
 * (`vsd-agent setup-dr`) answer the client directly. A keep-alive connection is opened through dispatcher X; X's node
 * is lost (link cut, vsd and BIRD killed); the next request on the same connection, re-hashed by the router onto
 * another dispatcher, reaches the same real server (mh) and is answered; new connections go to the two others.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../lib/netns.js';
import { BIN, requireBuild, tempDir, type VsdProcess } from '../lib/vsd-proc.js';
import {
  CLIENT_NET,
  ROUTER_IP,
  createBgpLab,
  dispatcherBirdConf,
  holdConnection,
  load,
  startBird,
  startDispatcher,
  startEchoServer,
  type BgpLab,
} from './bgp-lab.js';

const VIP = '10.78.9.3';
const ETHTOOL = fileURLToPath(new URL('../lib/ethtool-ioctl.mjs', import.meta.url));
/** Any XDP program that passes every frame: the real servers' decapsulator with empty maps. */
const PASS_OBJECT = fileURLToPath(new URL('../../packages/agent/dist/bpf/rs_decap.o', import.meta.url));

interface StatusDoc {
  services: Array<{ key: string; counters: { conns: number; inPkts: number } }>;
}

describe('a TCP connection survives the loss of its dispatcher (xdp, DR, mh, BGP ECMP)', () => {
  let l: BgpLab;
  const vsd: Record<string, VsdProcess> = {};

  beforeAll(async () => {
    requireBuild();
    l = await createBgpLab(tempDir('bgp-survival'), 3, 2);
    for (const w of l.realServers) {
      const r = await w.exec(process.execPath, [BIN.agent, 'setup-dr', '--vip', VIP]);
      if (r.code !== 0) throw new Error(`setup-dr on ${w.name}: ${r.stderr}`);
      // Direct return: the answer goes to the client through the router, not back through a dispatcher.
      expect((await w.exec('ip', ['route', 'add', `${CLIENT_NET}.0/24`, 'via', ROUTER_IP])).code).toBe(0);
      await startEchoServer(w, 80);
    }
    // The veth lab's two needs (test/lib/ethtool-ioctl.mjs): complete TCP checksums on what reaches a dispatcher (the
    // client's, forwarded by the router), and NAPI on each dispatcher's switch port so its XDP_TX'd frames are received.
    for (const [h, dev] of [
      [l.client, 'eth1'],
      [l.router, 'eth0'],
    ] as const) {
      const tx = await h.exec(process.execPath, [ETHTOOL, dev, 'tx', 'off']);
      expect(tx.code, tx.stderr).toBe(0);
    }
    l.dispatchers.forEach((_, i) =>
      execFileSync('ip', ['-n', `${l.lab.prefix}-sw`, 'link', 'set', 'dev', `p${i + 3}`, 'xdp', 'obj', PASS_OBJECT, 'sec', 'xdp']),
    );
    const services = {
      virtual_servers: [{ address: `${VIP}:80`, lb_algo: 'mh', lb_kind: 'DR', real_servers: l.realServers.map((w) => ({ address: `${w.ip}:80` })) }],
      xdp: { interface: 'eth0', mode: 'native' },
    };
    await Promise.all(
      l.dispatchers.map(async (d) => {
        l.birds.set(d.name, await startBird(d, l.dir, dispatcherBirdConf(d, [VIP])));
        vsd[d.name] = await startDispatcher(l, d, { vip: VIP, dataplane: 'xdp', config: services });
      }),
    );
    await waitFor('three paths to the VIP on the router', async () => (await l.paths(VIP)).length === 3, 30_000, 100);
  }, 90_000);

  afterAll(async () => {
    await l?.destroy();
  });

  it('keeps a connection through a dispatcher that dies: the same real server answers the next request on it', async () => {
    const held = holdConnection(l.client, VIP, 80);
    try {
      const first = await held.request();
      expect(first.body).toMatch(new RegExp(`^web\\d ${CLIENT_NET.replace(/\./g, '\\.')}\\.2$`));
      // The dispatcher that carried it: the one whose xdp counters saw the connection.
      const conns = await Promise.all(l.dispatchers.map(async (d) => (await vsd[d.name]!.api<StatusDoc>('/v1/status')).services[0]?.counters.conns ?? 0));
      const x = l.dispatchers[conns.findIndex((n) => n > 0)]!;
      expect(conns.filter((n) => n > 0)).toHaveLength(1);

      const cut = Date.now();
      expect((await x.exec('ip', ['link', 'set', 'eth0', 'down'])).code).toBe(0);
      vsd[x.name]!.proc.kill('SIGKILL');
      l.birds.get(x.name)!.kill('SIGKILL');
      // Sent at once: TCP retransmits it until the flow reaches a live dispatcher (re-hashed, or the dead path removed).
      const second = held.request().then((r) => ({ ...r, at: Date.now() - cut }));
      second.catch(() => undefined); // awaited below; a rejection before then is not unhandled
      await waitFor('the router drops the dead path', async () => !(await l.paths(VIP)).includes(x.ip), 10_000, 10);
      const detected = Date.now() - cut;
      const { at: answeredMs, ...again } = await second;
      console.log(
        `[bgp-survival] connection through ${x.name} to ${first.body.split(' ')[0]}: path dropped ${detected} ms after the cut, next request on the same connection (sent at the cut) answered after ${answeredMs} ms by ${again.body.split(' ')[0]}`,
      );
      expect(again).toEqual({ body: first.body, localPort: first.localPort, reused: true });
      const third = await held.request();
      expect(third).toEqual({ body: first.body, localPort: first.localPort, reused: true });

      const before = await Promise.all(
        l.dispatchers.filter((d) => d !== x).map(async (d) => (await vsd[d.name]!.api<StatusDoc>('/v1/status')).services[0]!.counters.conns),
      );
      const answers = await load(l.client, VIP, 80, { count: 40, timeoutMs: 2000, maxMs: 30_000 });
      expect(answers.filter(([, a]) => a.startsWith('ERR'))).toEqual([]);
      const after = await Promise.all(
        l.dispatchers.filter((d) => d !== x).map(async (d) => (await vsd[d.name]!.api<StatusDoc>('/v1/status')).services[0]!.counters.conns),
      );
      const took = after.map((n, i) => n - before[i]!);
      console.log(`[bgp-survival] 40 new connections after the loss: ${JSON.stringify(took)} on the two live dispatchers`);
      expect(took.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(40);
      for (const n of took) expect(n).toBeGreaterThan(0);
    } finally {
      held.close();
    }
  });
});
