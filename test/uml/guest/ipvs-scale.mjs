// Runs inside the UML guest: times our reconcile of N services x M dests (from empty, then one change)
// against `ipvsadm -R` of the same rules, and checks both leave the same kernel table.
// Usage: node ipvs-scale.mjs [services=1000] [dests=10] [--vsd-only]  -> JSON on stdout
// --vsd-only skips the (slow) ipvsadm side and checks our table against the expected `ipvsadm -S -n` text.
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createIpvsDataplane, parseVirtualService, realServerKey, serviceKey } from '../../../packages/core/dist/index.js';

const S = Number(process.argv[2] ?? 1000);
const D = Number(process.argv[3] ?? 10);
const ipvsadm = (args, input) => execFileSync('ipvsadm', args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });

const vip = (i) => `172.16.${i >> 8}.${i & 255}`;
const rip = (i, j) => `10.${i >> 8}.${i & 255}.${j + 1}`;

function build(weightOf = () => 1) {
  const t = [];
  for (let i = 0; i < S; i++) {
    const realServers = [];
    for (let j = 0; j < D; j++) realServers.push({ address: rip(i, j), port: 8080, forwarding: 'masq', weight: weightOf(i, j) });
    const service = parseVirtualService({ protocol: 'tcp', address: vip(i), port: 80, scheduler: 'wlc', realServers });
    t.push({
      key: serviceKey(service),
      service,
      dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
    });
  }
  return t;
}

function rules() {
  const lines = [];
  for (let i = 0; i < S; i++) {
    lines.push(`-A -t ${vip(i)}:80 -s wlc`);
    for (let j = 0; j < D; j++) lines.push(`-a -t ${vip(i)}:80 -r ${rip(i, j)}:8080 -m -w 1`);
  }
  return `${lines.join('\n')}\n`;
}

const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return Math.round(performance.now() - t0);
};

ipvsadm(['-C']);
// A long resync period: measure the cached path (a full re-read is what vsdStatusMs measures).
const dp = createIpvsDataplane({ loadModule: false, keepOnClose: true, resyncMs: 3_600_000 });
await dp.start();
const table = build();
const r = { services: S, dests: D };
r.vsdFromEmptyMs = await time(() => dp.reconcile(table));
r.vsdFromEmptyOps = dp.lastPlan().length;
const savedVsd = ipvsadm(['-S', '-n']);
r.vsdNoChangeMs = await time(() => dp.reconcile(table));
r.vsdNoChangeOps = dp.lastPlan().length;
const changed = build((i, j) => (i === S >> 1 && j === 3 ? 9 : 1));
r.vsdOneChangeMs = await time(() => dp.reconcile(changed));
r.vsdOneChangeOps = dp.lastPlan().length;
r.vsdStatusMs = await time(() => dp.status());
await dp.close();
r.savedLines = savedVsd.split('\n').filter(Boolean).length;

if (process.argv.includes('--vsd-only')) {
  // ipvsadm -S sorts services and dests by address (all differences here are < 2^31, so plain order).
  const lines = [];
  for (let i = 0; i < S; i++) {
    lines.push(`-A -t ${vip(i)}:80 -s wlc`);
    const ds = [];
    for (let j = 0; j < D; j++) ds.push(j);
    for (const j of ds) lines.push(`-a -t ${vip(i)}:80 -r ${rip(i, j)}:8080 -m -w 1`);
  }
  r.sameTable = savedVsd === `${lines.join('\n')}\n`;
  ipvsadm(['-C']);
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

ipvsadm(['-C']);
const text = rules();
r.ipvsadmRestoreMs = await time(() => ipvsadm(['-R'], text));
const savedIpvsadm = ipvsadm(['-S', '-n']);
r.ipvsadmOneChangeMs = await time(() => ipvsadm(['-e', '-t', `${vip(S >> 1)}:80`, '-r', `${rip(S >> 1, 3)}:8080`, '-m', '-w', '9']));
r.ipvsadmListMs = await time(() => ipvsadm(['-Ln']));
r.sameTable = savedVsd === savedIpvsadm;
ipvsadm(['-C']);
process.stdout.write(`${JSON.stringify(r)}\n`);
