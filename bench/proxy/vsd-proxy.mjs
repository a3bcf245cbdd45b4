// The vsd proxy dataplane as a standalone process for the benchmark: built @vsd/core from dist (TCP engine from
// VSD_PROXY_ENGINE: epoll, node or auto), one TCP virtual service on 127.0.0.1:VPORT in front of the given real servers. Answers "rss" on IPC with its RSS.
import { createProxyDataplane, parseVirtualService, serviceKey, realServerKey } from '../../packages/core/dist/index.js';

const [vport, scheduler, ...rports] = process.argv.slice(2);
const service = parseVirtualService({
  protocol: 'tcp',
  address: '127.0.0.1',
  port: Number(vport),
  scheduler,
  realServers: rports.map((p) => ({ address: '127.0.0.1', port: Number(p), forwarding: 'masq', weight: 1 })),
});
const dp = createProxyDataplane({
  engine: process.env.VSD_PROXY_ENGINE ?? 'auto',
  threads: Number(process.env.VSD_PROXY_THREADS ?? 1),
});
await dp.start();
await dp.reconcile([
  {
    key: serviceKey(service),
    service,
    dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
  },
]);
process.on('message', async (m) => {
  if (m === 'rss') {
    if (global.gc) global.gc();
    const st = await dp.status();
    process.send({ rss: process.memoryUsage().rss, conns: dp.connectionCount(), status: st });
  }
  if (m === 'stop') {
    await dp.close(0);
    process.exit(0);
  }
});
process.send?.('ready');
