// Runs inside the UML guest: drives the IPVS client and dataplane from packages/core/dist and records
// what they did next to what the real ipvsadm sees. Results go to $VSD_OUT/*.json|txt for the vitest side.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createIpvsDataplane, parseVirtualService, realServerKey, serviceKey } from '../../../packages/core/dist/index.js';

const out = process.env.VSD_OUT;
const ipvsadm = (...args) => execFileSync('ipvsadm', args, { encoding: 'utf8' });
const save = (name, data) => writeFileSync(`${out}/${name}`, typeof data === 'string' ? data : JSON.stringify(data, null, 1));

export function table(inputs) {
  return inputs.map((input) => {
    const service = parseVirtualService(input);
    return {
      key: serviceKey(service),
      service,
      dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
    };
  });
}

const services = [
  {
    protocol: 'tcp',
    address: '10.0.0.1',
    port: 80,
    scheduler: 'rr',
    realServers: [
      { address: '192.168.1.1', port: 8080, forwarding: 'masq', weight: 3, upperThreshold: 100, lowerThreshold: 10 },
      { address: '192.168.1.2', port: 80, forwarding: 'route' },
      { address: '192.168.1.3', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, csum: 'remcsum' } },
      { address: '192.168.1.4', port: 80, forwarding: 'tunnel', tunnel: { type: 'gre', csum: 'csum' } },
      { address: '192.168.1.5', port: 80, forwarding: 'tunnel' },
    ],
  },
  {
    protocol: 'udp',
    address: '10.0.0.1',
    port: 53,
    scheduler: 'sh',
    schedFlags: ['sh-fallback', 'sh-port'],
    onePacket: true,
    realServers: [{ address: '192.168.1.1', port: 53, forwarding: 'masq' }],
  },
  {
    protocol: 'tcp',
    address: '10.0.0.2',
    port: 443,
    scheduler: 'wlc',
    persistence: { timeout: 360, netmask: 24 },
    realServers: [{ address: '192.168.2.1', port: 443, forwarding: 'masq', weight: 0 }],
  },
  { protocol: 'sctp', address: '10.0.0.3', port: 5000, scheduler: 'mh', schedFlags: ['mh-port'], realServers: [] },
  {
    protocol: 'tcp',
    address: '2001:db8::1',
    port: 80,
    scheduler: 'lc',
    persistence: { timeout: 60, netmask: 64 },
    realServers: [{ address: '2001:db8::10', port: 8080, forwarding: 'masq', weight: 2 }],
  },
  { fwmark: 7, scheduler: 'wrr', realServers: [{ address: '192.168.3.1', port: 0, forwarding: 'route', weight: 5 }] },
  { fwmark: 8, family: 'inet6', scheduler: 'sed', persistence: { timeout: 100 }, realServers: [] },
  { protocol: 'udp', address: '10.0.0.4', port: 5060, scheduler: 'rr', persistence: { timeout: 60 }, pe: 'sip', realServers: [] },
];

const dp = createIpvsDataplane({ loadModule: false });
await dp.start();
const results = {};

// 1. Program from empty.
await dp.reconcile(table(services));
results.firstPlan = dp.lastPlan().length;
save('save-1.txt', ipvsadm('-S', '-n'));
save('list-1.txt', ipvsadm('-Ln'));
save('status-1.json', await dp.status());
const c = dp.client();
save(
  'dump-1.json',
  c.services().map((s) => ({ service: s, dests: c.dests(s.id) })),
);

// 2. Idempotent.
await dp.reconcile(table(services));
results.secondPlan = dp.lastPlan().length;

// 3. One weight change -> one op.
const changed = structuredClone(services);
changed[0].realServers[1].weight = 7;
await dp.reconcile(table(changed));
results.weightPlan = dp.lastPlan().map((o) => o.op);
save('list-3.txt', ipvsadm('-Ln', '-t', '10.0.0.1:80'));

// 4. Entries made outside vsd: a foreign service goes, an adopted one is edited in place.
ipvsadm('-A', '-t', '10.9.9.9:80', '-s', 'rr');
ipvsadm('-a', '-t', '10.0.0.1:80', '-r', '192.168.1.99:80', '-m');
ipvsadm('-E', '-t', '10.0.0.2:443', '-s', 'rr');
// The cached view does not see them yet; a resync (or status(), or the resync period) does.
await dp.reconcile(table(changed));
results.cachedPlan = dp.lastPlan().length;
dp.resync();
await dp.reconcile(table(changed));
results.adoptPlan = dp.lastPlan().map((o) => `${o.op} ${serviceKey(o.service)}${o.dest ? ` ${o.dest.address}:${o.dest.port}` : ''}`);
save('save-4.txt', ipvsadm('-S', '-n'));

// 5. Errors, typed.
const err = (fn) => {
  try {
    fn();
    return 'no error';
  } catch (e) {
    return `${e.code} ${e.errno ?? ''}`.trim();
  }
};
const svcIn = (o) => parseVirtualService(o);
const id80 = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
const destOf = (o) => ({ forwarding: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnel: null, ...o });
results.errors = {
  serviceExists: err(() => c.addService(svcIn({ protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr' }))),
  schedulerMissing: err(() => c.addService(svcIn({ protocol: 'tcp', address: '10.0.0.50', port: 80, scheduler: 'nosuch' }))),
  peMissing: err(() => c.addService(svcIn({ protocol: 'udp', address: '10.0.0.51', port: 80, scheduler: 'rr', persistence: { timeout: 5 }, pe: 'nope' }))),
  noSuchService: err(() => c.deleteService({ protocol: 'tcp', address: '10.0.0.99', port: 80 })),
  serviceNotDefined: err(() => c.addDest({ protocol: 'tcp', address: '10.0.0.99', port: 80 }, destOf({ address: '192.168.1.1', port: 80 }))),
  destExists: err(() => c.addDest(id80, destOf({ address: '192.168.1.1', port: 8080 }))),
  noSuchDest: err(() => c.deleteDest(id80, { address: '192.168.7.7', port: 80 })),
  erange: err(() => c.addDest(id80, destOf({ address: '192.168.1.77', port: 80, upperThreshold: 5, lowerThreshold: 10 }))),
  noDaemon: err(() => c.stopDaemon('backup')),
  noDevice: err(() => c.startDaemon({ state: 'master', mcastInterface: 'nosuch0', syncId: 0 })),
  getMissing: err(() => c.service({ protocol: 'tcp', address: '10.0.0.99', port: 80 })),
};

// 6. Timeouts.
await dp.setTimeouts({ tcp: 3600, tcpfin: 0, udp: 60 });
results.timeouts = c.timeouts();
save('timeouts.txt', ipvsadm('-L', '--timeout'));

// 7. Sync daemons: start both, change one, stop all.
await dp.syncDaemons([
  { state: 'master', mcastInterface: 'lo', syncId: 4 },
  { state: 'backup', mcastInterface: 'lo', syncId: 5, port: 8850, ttl: 2 },
]);
save('daemon-1.txt', ipvsadm('-L', '--daemon'));
await dp.syncDaemons([{ state: 'master', mcastInterface: 'lo', syncId: 6 }]);
save('daemon-2.txt', ipvsadm('-L', '--daemon'));
results.daemons = c.daemons();
await dp.syncDaemons([]);
save('daemon-3.txt', ipvsadm('-L', '--daemon'));

// 8. Info, zero, connections (empty: no traffic here).
results.info = await dp.info();
await dp.zero();
await dp.zero('tcp 10.0.0.1:80');
results.connections = await dp.connections();

// 9. Close removes what vsd programmed.
await dp.close();
save('list-9.txt', ipvsadm('-Ln'));
save('results.json', results);
