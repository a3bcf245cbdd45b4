// The vsd xdp dataplane (built @vsd/core from dist) as a standalone process for bench/xdp, run inside the dispatcher
// namespace: one UDP virtual service forwarded by DR and one by TUN (IPIP), each to the one real server.
// Usage: node vsd-xdp.mjs IFACE VIP_DR VIP_TUN RIP PORT SCHEDULER. Prints "ready"; on each "status" line on stdin
// prints the dataplane's status() as one JSON line; detaches and exits on "stop" or EOF.
import { createInterface } from 'node:readline';
// VSD_XDPBENCH_CORE: another build of @vsd/core (its dist/index.js), e.g. a branch's, to compare.
const core = await import(process.env.VSD_XDPBENCH_CORE ?? new URL('../../packages/core/dist/index.js', import.meta.url).href);
const { createXdpDataplane, parseVirtualService, realServerKey, serviceKey } = core;
if (typeof createXdpDataplane !== 'function') {
  process.stdout.write('this build of @vsd/core has no xdp dataplane (createXdpDataplane)\n');
  process.exit(1);
}

const [iface, vipDr, vipTun, rip, port, scheduler] = process.argv.slice(2);
const services = [
  [vipDr, 'route'],
  [vipTun, 'tunnel'],
].map(([address, forwarding]) =>
  parseVirtualService({
    protocol: 'udp',
    address,
    port: Number(port),
    scheduler,
    realServers: [{ address: rip, port: Number(port), forwarding, weight: 1 }],
  }),
);
const dp = createXdpDataplane({ iface, mode: 'native' });
await dp.start();
await dp.reconcile(
  services.map((service) => ({
    key: serviceKey(service),
    service,
    dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
  })),
);
let closing = false;
async function stop() {
  if (closing) return;
  closing = true;
  await dp.close(0);
  process.exit(0);
}
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'status') process.stdout.write(`${JSON.stringify(await dp.status())}\n`);
  if (line === 'stop') break;
}
await stop();
