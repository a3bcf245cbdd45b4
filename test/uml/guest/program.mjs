// Programs IPVS with vsd's ipvs dataplane from a JSON list of virtual services (argv[2]), then prints
// the dataplane's status or connections when asked: node program.mjs '<json>' [status|connections]
import { createIpvsDataplane, parseVirtualService, realServerKey, serviceKey } from '../../../packages/core/dist/index.js';

const [json, what] = process.argv.slice(2);
const dp = createIpvsDataplane({ loadModule: false, keepOnClose: true });
await dp.start();
if (json !== '-') {
  const table = JSON.parse(json).map((input) => {
    const service = parseVirtualService(input);
    return {
      key: serviceKey(service),
      service,
      dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
    };
  });
  await dp.reconcile(table);
}
if (what === 'status') process.stdout.write(`${JSON.stringify(await dp.status())}\n`);
if (what === 'connections') process.stdout.write(`${JSON.stringify(await dp.connections())}\n`);
await dp.close();
