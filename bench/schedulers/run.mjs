// Micro-benchmark of every IPVS scheduler in @vsd/core: median nanoseconds per pick at 10, 100 and 1,000
// real servers, and whether a pick allocates.
//
// Usage: pnpm bench:schedulers            (builds, then runs this file against packages/core/dist)
//        node bench/schedulers/run.mjs [--quick] [--json] [--write]
//        --write replaces the "## Schedulers" section of bench/README.md with this run's table;
//        SCHED=rr,wlc limits the run to some schedulers.
//
// Timing: per (scheduler, size) a warm-up of WARMUP picks, then ROUNDS rounds of a fixed pick count timed with
// process.hrtime.bigint() (wall) and process.cpuUsage() (CPU); the median round of each is reported in ns per
// pick. Every loop is bounded by a count.
//
// On a loaded machine wall time includes time spent waiting for a CPU, CPU time does not.
//
// Allocation (at 10 RS): V8's `gc` is exposed at run time (v8.setFlagsFromString('--expose-gc')). After the loop
// has run ALLOC_PICKS picks once (so it is optimised), a forced full GC, then ALLOC_PICKS more picks under
// v8.GCProfiler, which lists every collection synchronously with the heap size before and after it.
// Bytes allocated = heapUsed growth + bytes the listed collections freed. An allocation-free pick shows 0 GCs and
// ~0 bytes per 1000 picks; one 16-byte heap number per pick would show 16000 bytes per 1000 picks and dozens of
// scavenges (the young generation starts at 1 MB).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';

const core = await import('../../packages/core/dist/index.js');
const api = typeof core.createScheduler === 'function' ? core : await import('../../packages/core/dist/scheduler/index.js');
const { SCHEDULER_NAMES, createScheduler, createSchedDest, createSchedPacket } = api;

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const SIZES = [10, 100, 1000];
const ROUNDS = QUICK ? 3 : 9;
const ONLY = process.env.SCHED ? process.env.SCHED.split(',') : null;
const WARMUP = QUICK ? 20_000 : 100_000;
const PICK_BUDGET = QUICK ? 2_000_000 : 10_000_000; // server-visits per round, so big lists run fewer picks
const ALLOC_PICKS = QUICK ? 500_000 : 2_000_000;
const PACKETS = 1024;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

/**
 * A service of n real servers with varied weights (gcd 25) and connection counts (list order = creation order).
 * Active counts stay below the weights so lblc/lblcr hits keep their cache entry (their steady state).
 */
function makeDests(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const d = createSchedDest({ address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 8080, weight: 100 + (i % 5) * 25 });
    d.activeConns = (i * 7919) % 97;
    d.inactiveConns = (i * 104729) % 389;
    out.push(d);
  }
  return out;
}

function makePackets() {
  const out = [];
  for (let i = 0; i < PACKETS; i++) {
    out.push(createSchedPacket((0xc0a80000 + i * 2654435761) >>> 0, 1024 + i, (0xc6336400 + (i % 256)) >>> 0, 80));
  }
  return out;
}

function makeScheduler(name, n) {
  const s = createScheduler(name, { flags: name === 'sh' ? ['sh-port'] : [] });
  s.update(makeDests(n));
  return s;
}

/**
 * A fresh copy of the pick loop per measurement (compiled from source each time), so every scheduler gets its own
 * type feedback: one shared loop would turn megamorphic and be re-optimised mid-run, and that compilation work
 * would show up in the heap figures. The loop returns a value derived from the picks so it cannot be elided.
 */
function makeRunner() {
  return new Function(
    'mask',
    `return function run(s, packets, count) {
      let sink = 0;
      for (let i = 0; i < count; i++) {
        const d = s.pick(packets[i & mask]);
        if (d !== null) sink = (sink + d.port) | 0;
      }
      return sink;
    };`,
  )(PACKETS - 1);
}

const cpuNs = (c) => (c.user + c.system) * 1000;

function timeOne(name, n, packets) {
  const s = makeScheduler(name, n);
  const run = makeRunner();
  run(s, packets, WARMUP);
  const perRound = Math.max(2_000, Math.min(1_000_000, Math.floor(PICK_BUDGET / n)));
  const wall = [];
  const cpu = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    run(s, packets, perRound);
    wall.push(Number(process.hrtime.bigint() - t0) / perRound);
    cpu.push(cpuNs(process.cpuUsage(c0)) / perRound);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function allocation(name, packets) {
  const s = makeScheduler(name, 10);
  const run = makeRunner();
  run(s, packets, WARMUP);
  run(s, packets, ALLOC_PICKS); // reach the final optimised code before measuring
  gc();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const h0 = process.memoryUsage().heapUsed;
  run(s, packets, ALLOC_PICKS);
  const h1 = process.memoryUsage().heapUsed;
  const events = profiler.stop().statistics;
  // Bytes allocated = growth of the heap + whatever the collections in between freed.
  let freed = 0;
  for (const e of events) freed += e.beforeGC.heapStatistics.usedHeapSize - e.afterGC.heapStatistics.usedHeapSize;
  return { gcs: events.length, bytesPerKPick: (Math.max(0, h1 - h0 + freed) / ALLOC_PICKS) * 1000 };
}

function machine() {
  let lscpu = '';
  try {
    lscpu = execFileSync('lscpu', { encoding: 'utf8' }).split('\n').slice(0, 10).join('\n');
  } catch {
    lscpu = os.cpus()[0]?.model ?? 'unknown';
  }
  return { nproc: os.availableParallelism(), node: process.version, lscpu };
}

const packets = makePackets();
const rows = [];
for (const name of SCHEDULER_NAMES.filter((n) => ONLY === null || ONLY.includes(n))) {
  const t = SIZES.map((n) => timeOne(name, n, packets));
  const alloc = allocation(name, packets);
  rows.push({ name, ns: t.map((x) => x.wall), cpuNs: t.map((x) => x.cpu), alloc });
}

const m = machine();
const fmt = (x) => x.toFixed(1).padStart(8);
const table = [
  '| scheduler | 10 RS wall | 10 RS CPU | 100 RS wall | 100 RS CPU | 1000 RS wall | 1000 RS CPU | GCs in alloc check | heap bytes / 1000 picks |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.name.padEnd(5)} | ${SIZES.map((_, i) => `${fmt(r.ns[i])} | ${fmt(r.cpuNs[i])}`).join(' | ')} | ${String(r.alloc.gcs).padStart(3)} | ${r.alloc.bytesPerKPick.toFixed(1).padStart(7)} |`,
  ),
];
const targets = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'mh'];
const judge = (key) => rows.filter((r) => targets.includes(r.name) && r[key][2] >= 200).map((r) => `${r.name} (${r[key][2].toFixed(0)} ns)`);
const missedCpu = judge('cpuNs');
const missedWall = judge('ns');
const verdict =
  `200 ns target at 1000 RS for ${targets.join(', ')}: CPU time ${missedCpu.length === 0 ? 'met' : `missed by ${missedCpu.join(', ')}`}; ` +
  `wall clock ${missedWall.length === 0 ? 'met' : `missed by ${missedWall.join(', ')}`}`;
const load = os
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');

if (args.has('--json')) {
  process.stdout.write(`${JSON.stringify({ machine: m, loadavg: load, rows }, null, 2)}\n`);
} else {
  process.stdout.write(`node ${m.node}, nproc ${m.nproc}, load average ${load}, ${ROUNDS} rounds (median), warm-up ${WARMUP} picks\n\n`);
  process.stdout.write(`${table.join('\n')}\n\n${verdict}\n`);
}

if (args.has('--write')) {
  const readme = fileURLToPath(new URL('../README.md', import.meta.url));
  const date = new Date().toISOString().slice(0, 10);
  const section = `## Schedulers

Run with \`pnpm bench:schedulers\` (bench/schedulers/run.mjs against the built packages/core/dist;
\`node bench/schedulers/run.mjs --write\` rewrites this section) on ${date}.

Machine: \`nproc\` = ${m.nproc}, node ${m.node}, load average at the end ${load} (a shared machine: other work ran
at the same time, so wall-clock figures include waiting for a CPU; the CPU columns are what the process itself spent).
\`lscpu | head\`:

\`\`\`
${m.lscpu}
\`\`\`

Method: per scheduler and size, a service of N real servers made with \`createSchedDest\` (weights 100..200,
varied connection counts), 1,024 distinct packets cycled, ${WARMUP.toLocaleString('en')} warm-up picks, then ${ROUNDS}
rounds of up to 1,000,000 picks (10,000,000 / N) timed with \`process.hrtime.bigint()\` (wall) and
\`process.cpuUsage()\` (CPU); the median round of each is shown, in ns per pick. Allocation: after a forced GC, ${ALLOC_PICKS.toLocaleString('en')} picks at
10 RS under \`v8.GCProfiler\`; bytes = heap growth + bytes freed by the collections it lists. 0 GCs and a few
bytes per 1000 picks (measurement residue) mean a pick allocates nothing.

${table.join('\n')}

${verdict}.

lc, wlc, sed, nq, fo, ovf and twos are answered from indexes kept up to date by the destinations' setters
(O(1) or O(log n) per pick instead of the kernel's O(n) scan, same answer: see packages/core/README.md,
"Schedulers"). lblc/lblcr figures are cache hits (their steady state); a miss adds a wlc pick and one entry.
`;
  let text = existsSync(readme) ? readFileSync(readme, 'utf8') : '# Benchmarks\n';
  const at = text.indexOf('\n## Schedulers\n');
  if (at >= 0) {
    const next = text.indexOf('\n## ', at + 1);
    text = text.slice(0, at + 1) + section + (next >= 0 ? text.slice(next) : '');
  } else text = `${text.trimEnd()}\n\n${section}`;
  writeFileSync(readme, text);
  process.stdout.write(`wrote ${readme}\n`);
}
