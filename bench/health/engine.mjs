// One measurement for bench/health/run.mjs (which runs it per engine and V8 setting): CPU (process.cpuUsage, all
// threads) and RSS of the @vsd/core health monitor checking N real servers (half TCP_CHECK, half HTTP_GET) on
// loopback backends. Prints one JSON document.
// Usage: node [v8 flags] bench/health/engine.mjs [--engine epoll|node] [--servers 1000] [--interval 1] [--duration 20] [--warmup 3]
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
// Only the modules the engine needs (not all of @vsd/core, whose dataplanes and native bindings would inflate RSS).
import { buildHealthService, createHealthMonitor, parseChecks } from '../../packages/core/dist/health/index.js';
import { parseVirtualService } from '../../packages/core/dist/model/schema.js';
import { WeightOverlay } from '../../packages/core/dist/weights/overlay.js';
import { createLogger } from '../../packages/sys/dist/logger.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const servers = arg('servers', 1000);
const interval = arg('interval', 1);
const duration = Math.min(arg('duration', 20), 120);
const warmup = arg('warmup', 3);
const perService = 100;

const here = fileURLToPath(new URL('.', import.meta.url));
// --kind tcp|http: all real servers checked one way (to price each checker alone); default half and half.
const kindArg = process.argv[process.argv.indexOf('--kind') + 1];
const kind = process.argv.includes('--kind') ? kindArg : 'mixed';
const tcpCount = kind === 'tcp' ? servers : kind === 'http' ? 0 : Math.ceil(servers / 2);
const httpCount = servers - tcpCount;
const child = spawn(process.execPath, [`${here}backends.mjs`, String(tcpCount), String(httpCount)], { stdio: ['pipe', 'pipe', 'inherit'] });
const ports = await new Promise((resolve, reject) => {
  createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l)));
  child.once('exit', (code) => reject(new Error(`backends exited ${code}`)));
});

// Virtual services of 100 real servers each; each real server is one backend port.
const targets = [...ports.tcp.map((port) => ({ port, kind: 'tcp' })), ...ports.http.map((port) => ({ port, kind: 'http' }))];
const tcpCheck = parseChecks([{ tcp_check: {}, connect_timeout: 2, retry: 1, delay_before_retry: 1 }]);
const httpCheck = parseChecks([{ http_get: { path: '/', status_code: 200 }, connect_timeout: 2, retry: 1, delay_before_retry: 1 }]);
const specs = [];
for (let s = 0; s * perService < targets.length; s++) {
  const group = targets.slice(s * perService, (s + 1) * perService);
  const service = parseVirtualService({
    protocol: 'tcp',
    address: '10.200.0.1',
    port: 1000 + s,
    realServers: group.map((t) => ({ address: '127.0.0.1', port: t.port, forwarding: 'masq' })),
  });
  const checks = Object.fromEntries(group.map((t) => [`127.0.0.1:${t.port}`, t.kind === 'tcp' ? tcpCheck : httpCheck]));
  specs.push(buildHealthService({ service, options: { delay_loop: interval, inhibit_on_failure: true }, checks }));
}

const overlay = new WeightOverlay();
let overlayChanges = 0;
overlay.onChange(() => overlayChanges++);
// Failed checks are logged at debug level with their reason: count the reasons (nothing else is logged per check).
const reasons = {};
const logger = createLogger(
  { level: 'debug' },
  new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        const { msg, reason } = JSON.parse(line);
        if (msg === 'check failed' || msg === 'removing real server' || msg === 'disabling real server (weight 0)')
          reasons[reason] = (reasons[reason] ?? 0) + 1;
      }
      cb();
    },
  }),
);
// --engine epoll|node: where TCP_CHECK and HTTP_GET run (the probe thread on libc sockets, or Node sockets).
const engineArg = process.argv.includes('--engine') ? process.argv[process.argv.indexOf('--engine') + 1] : 'epoll';
const monitor = createHealthMonitor({ overlay, logger, engine: engineArg, ...(process.argv.includes('--slot') ? { slotMs: arg('slot', 25) } : {}) });
monitor.configure(specs);
const rssBefore = process.memoryUsage().rss;
monitor.start();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const totals = () => {
  let checks = 0,
    failures = 0,
    down = 0;
  for (const svc of monitor.status().services)
    for (const rs of svc.realServers) {
      failures += rs.failures;
      if (rs.state === 'down') down++;
      for (const c of rs.checkers) checks += c.checks;
    }
  return { checks, failures, down };
};

await sleep(warmup * 1000);
// /proc/self/schedstat: ns on CPU, ns waiting for a CPU (run queue), timeslices: tells starvation from blocking.
const schedstat = () => {
  try {
    return readFileSync('/proc/self/schedstat', 'utf8').trim().split(' ').map(Number);
  } catch {
    return [0, 0, 0];
  }
};
// CPU per thread (/proc/self/task/*/stat, clock ticks): the main thread, the probe thread, V8's helpers.
const threadTicks = () => {
  const out = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(f[11]) + Number(f[12]));
    } catch {
      // the thread ended
    }
  }
  return out;
};
const ticks0 = threadTicks();
// Sampled every 50 ms: at 10 ms the monitor's own timer cost ~0.7 % of a core, as much as the main thread's share
// of a thousand checks a second with the probe thread.
const eld = monitorEventLoopDelay({ resolution: 50 });
eld.enable();
const start = { cpu: process.cpuUsage(), at: process.hrtime.bigint(), sched: schedstat(), ...totals() };
let rssMax = 0;
let lagMax = 0;
for (let t = 0; t < duration; t++) {
  const before = Date.now();
  await sleep(1000);
  lagMax = Math.max(lagMax, Date.now() - before - 1000);
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
}
const cpu = process.cpuUsage(start.cpu);
const ticks1 = threadTicks();
const mem = process.memoryUsage();
globalThis.gc?.();
const liveHeap = process.memoryUsage().heapUsed;
const spaces = Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, Number((x.space_size / 1e6).toFixed(1))]));
const sched = schedstat();
eld.disable();
const elapsedS = Number(process.hrtime.bigint() - start.at) / 1e9;
const end = totals();
await monitor.stop();

// The platform's floor for comparison: CPU of a bare net.connect + reset (no health code), 25 at a time.
const floorMicros = await (async () => {
  const { connect } = await import('node:net');
  const bare = (port) =>
    new Promise((res) => {
      const s = connect({ host: '127.0.0.1', port });
      s.on('connect', () => {
        s.resetAndDestroy();
        res();
      });
      s.on('error', res);
    });
  const some = ports.tcp.slice(0, 25);
  if (some.length === 0) return null;
  for (let i = 0; i < 1000; i += some.length) await Promise.all(some.map(bare));
  const t0 = process.cpuUsage();
  let n = 0;
  for (; n < 3000; n += some.length) await Promise.all(some.map(bare));
  const u = process.cpuUsage(t0);
  return Number(((u.user + u.system) / n).toFixed(1));
})();

child.stdin.end();

const result = {
  servers,
  tcp: tcpCount,
  http: httpCount,
  intervalS: interval,
  measuredS: Number(elapsedS.toFixed(1)),
  cpuPercentOfOneCore: Number((((cpu.user + cpu.system) / 1e6 / elapsedS) * 100).toFixed(2)),
  cpuUserPercent: Number(((cpu.user / 1e6 / elapsedS) * 100).toFixed(2)),
  cpuSystemPercent: Number(((cpu.system / 1e6 / elapsedS) * 100).toFixed(2)),
  rssMB: Number((rssMax / 1e6).toFixed(1)),
  rssBeforeStartMB: Number((rssBefore / 1e6).toFixed(1)),
  heapTotalMB: Number((mem.heapTotal / 1e6).toFixed(1)),
  heapUsedMB: Number((mem.heapUsed / 1e6).toFixed(1)),
  ...(globalThis.gc ? { heapLiveAfterGcMB: Number((liveHeap / 1e6).toFixed(1)) } : {}),
  heapSpacesMB: spaces,
  checksPerSecond: Number(((end.checks - start.checks) / elapsedS).toFixed(0)),
  // CPU cost of one check, and what 1,000 checks a second cost at that price: independent of how much of the
  // run the process spent waiting for a CPU on a busy machine.
  cpuMicrosPerCheck: Number(((cpu.user + cpu.system) / Math.max(1, end.checks - start.checks)).toFixed(1)),
  floorMicrosPerBareConnect: floorMicros,
  failedChecks: end.failures - start.failures,
  downAtEnd: end.down,
  failureReasons: reasons,
  overlayChanges,
  timerLagMaxMs: lagMax,
  eventLoopDelayP99Ms: Number((eld.percentile(99) / 1e6).toFixed(1)),
  eventLoopDelayMaxMs: Number((eld.max / 1e6).toFixed(1)),
  runQueueWaitPercent: Number((((sched[1] - start.sched[1]) / 1e9 / elapsedS) * 100).toFixed(1)),
  engine: engineArg,
};
{
  // Percent of one core per thread (100 ticks a second): the main thread, the busiest other one (the probe thread
  // when it runs), and the rest (V8's GC and compiler helpers, libuv's pool).
  const per = [...ticks1].map(([tid, t]) => [tid, t - (ticks0.get(tid) ?? 0)]);
  const pct = (t) => Number(((t / 100 / elapsedS) * 100).toFixed(2));
  const main = per.find(([tid]) => tid === process.pid)?.[1] ?? 0;
  const others = per
    .filter(([tid]) => tid !== process.pid)
    .map(([, t]) => t)
    .sort((a, b) => b - a);
  result.threads = { mainPercent: pct(main), busiestOtherPercent: pct(others[0] ?? 0), restPercent: pct(others.slice(1).reduce((a, b) => a + b, 0)) };
}
const machine = {
  cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  memGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
  kernel: release(),
  node: process.version,
  loadavg: loadavg()
    .map((l) => l.toFixed(2))
    .join(' '),
};
result.cpuPercentAt1000PerSecond = Number(((result.cpuMicrosPerCheck * (servers / interval)) / 1e4).toFixed(2));
console.log(JSON.stringify({ result, machine, execArgv: process.execArgv }));
process.exit(0);
