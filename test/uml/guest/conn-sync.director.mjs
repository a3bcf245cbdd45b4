// One director of the connection-sync test (test/uml/guest/conn-sync.mjs), run in its own network namespace
// (`ip netns exec dirA node conn-sync.director.mjs`): vsd's ipvs dataplane opens its generic netlink socket
// here, so it programs this namespace's IPVS table and sync daemons. Commands come one JSON object a line on
// stdin; each gets one JSON answer line on stdout ({ ok: true, ... } or { ok: false, error }).
import { createInterface } from 'node:readline';
import { createIpvsDataplane, parseVirtualService, realServerKey, serviceKey } from '../../../packages/core/dist/index.js';

const dp = createIpvsDataplane({ loadModule: false });
await dp.start();

const table = (inputs) =>
  inputs.map((input) => {
    const service = parseVirtualService(input);
    return {
      key: serviceKey(service),
      service,
      dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
    };
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const handlers = {
  ping: async () => ({}),
  reconcile: async ({ services }) => {
    await dp.reconcile(table(services));
    return { ops: dp.lastPlan().length };
  },
  daemons: async ({ daemons }) => {
    await dp.syncDaemons(daemons);
    return { daemons: dp.client().daemons() };
  },
  connections: async () => ({ connections: await dp.connections() }),
  status: async () => ({ status: await dp.status() }),
  /** Polls the connection table until an entry for this client port is there, or timeoutMs passes. */
  waitConn: async ({ clientPort, timeoutMs }) => {
    const started = Date.now();
    for (;;) {
      const found = (await dp.connections()).filter((c) => c.client.port === clientPort);
      if (found.length || Date.now() - started >= timeoutMs) return { found, ms: Date.now() - started };
      await sleep(50);
    }
  },
  /**
   * Polls until the service's inbound packet counter reaches minInPkts. The kernel (6.1) sums its per-CPU counters
   * in the 2 s rate estimator, so a count read right after the traffic can still be the old one.
   */
  waitInPkts: async ({ minInPkts, timeoutMs }) => {
    const started = Date.now();
    for (;;) {
      const status = await dp.status();
      const inPkts = status.reduce((n, s) => n + s.counters.inPkts, 0);
      if (inPkts >= minInPkts || Date.now() - started >= timeoutMs) return { status, ms: Date.now() - started };
      await sleep(100);
    }
  },
};

for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line);
  try {
    const r = await handlers[msg.op](msg);
    process.stdout.write(`${JSON.stringify({ ok: true, ...r })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: `${err.code ?? ''} ${err.message}`.trim() })}\n`);
  }
}
await dp.close();
