#!/usr/bin/env node
// Proxy benchmark: vsd's proxy dataplane vs HAProxy (TCP mode) vs nginx stream, all on 127.0.0.1, with two
// nginx backends serving a small and a large file. wrk measures requests/s with a new connection per
// request, requests/s with keep-alive, MB/s of a bulk transfer and latency; a bounded Node client measures
// vsd's RSS with 10,000 idle proxied connections. Results go to stdout and to bench/README.md ("Proxy").
// Every load is bounded in time (wrk -d) and stays on loopback.
// Knobs: BENCH_ROUNDS (5), BENCH_DURATION (3s per figure and round), BENCH_ONLY=close|keepalive|bulk|latency (one
// figure, summary on stdout, README untouched), BENCH_TARGETS=vsd-2t,... (with BENCH_ONLY: only those and HAProxy),
// BENCH_SHUFFLE=1 (random order each round instead of a rotation).
import { execFileSync, fork, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const DURATION = process.env.BENCH_DURATION ?? '3s';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// A proxied connection holds two descriptors in the proxy (client and real-server sockets). The requested
// 10,000 idle connections need 20,000 of them plus listeners; where the hard limit is lower and cannot be
// raised (a container without CAP_SYS_RESOURCE), measure as many as fit and say so in the report.
const NOFILE = Number(execFileSync('bash', ['-c', 'ulimit -Hn']).toString().trim()) || 1024;
const WANTED_IDLE = Number(process.env.BENCH_IDLE_CONNS ?? 10_000);
const IDLE_CONNS = Math.min(WANTED_IDLE, Math.floor((NOFILE - 1000) / 2 / 100) * 100);

const dir = mkdtempSync(join(tmpdir(), 'vsd-bench-proxy-'));
// nginx workers run as an unprivileged user: they must be able to read the files.
chmodSync(dir, 0o755);
const children = [];
const cleanup = () => {
  // SIGTERM: an nginx master killed with SIGKILL would leave its workers running, listening on our ports.
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

async function waitPort(port, what) {
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((r) => {
      const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${what} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function start(cmd, args, what) {
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr.on('data', (d) => (err += d));
  c.on('exit', (code) => code && code !== 137 && !c.killed && console.error(`${what} exited ${code}: ${err}`));
  children.push(c);
  return c;
}

// --- backends: one nginx, two server blocks -----------------------------------------------------------
writeFileSync(join(dir, 'small'), Buffer.alloc(1024, 'a'));
writeFileSync(join(dir, 'large'), Buffer.alloc(16 * 1024 * 1024, 'b'));
const [rs1, rs2, vsdPort, haPort, ngxPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
writeFileSync(
  join(dir, 'backends.conf'),
  `worker_processes 1;
worker_rlimit_nofile ${NOFILE};
error_log ${dir}/backends.err;
pid ${dir}/backends.pid;
events { worker_connections 16000; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:${rs1} backlog=4096; root ${dir}; }
  server { listen 127.0.0.1:${rs2} backlog=4096; root ${dir}; }
}
`,
);
start('nginx', ['-p', dir, '-c', join(dir, 'backends.conf'), '-g', 'daemon off;'], 'nginx backends');

// --- HAProxy, TCP mode, round robin ---------------------------------------------------------------------
writeFileSync(
  join(dir, 'haproxy.cfg'),
  `global
  maxconn ${IDLE_CONNS + 100}
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend fe
  bind 127.0.0.1:${haPort}
  default_backend be
backend be
  balance roundrobin
  server s1 127.0.0.1:${rs1}
  server s2 127.0.0.1:${rs2}
`,
);
const haproxy = start('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], 'haproxy');

// --- nginx stream ---------------------------------------------------------------------------------------
const streamModule = '/usr/lib/nginx/modules/ngx_stream_module.so';
const haveStream = existsSync(streamModule);
let ngxStream = null;
if (haveStream) {
  writeFileSync(
    join(dir, 'stream.conf'),
    `load_module ${streamModule};
worker_processes auto;
worker_rlimit_nofile ${NOFILE};
error_log ${dir}/stream.err;
pid ${dir}/stream.pid;
events { worker_connections 16000; }
stream {
  upstream be { server 127.0.0.1:${rs1}; server 127.0.0.1:${rs2}; }
  server { listen 127.0.0.1:${ngxPort} backlog=4096; proxy_pass be; }
}
`,
  );
  ngxStream = start('nginx', ['-p', dir, '-c', join(dir, 'stream.conf'), '-g', 'daemon off;'], 'nginx stream');
}

// --- vsd: the proxy dataplane from the built @vsd/core, with its epoll engine (the default) and with Node sockets ----
function startVsd(port, engine, threads = 1) {
  const c = fork(join(HERE, 'vsd-proxy.mjs'), [String(port), 'rr', String(rs1), String(rs2)], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, VSD_PROXY_ENGINE: engine, VSD_PROXY_THREADS: String(threads) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(c);
  return c;
}
const vsd2Port = await freePort();
const vsdTPort = await freePort();
// The engine threads of the multi-threaded row: one per CPU, as HAProxy's threads and nginx's workers.
const THREADS = cpus().length;
const vsd = startVsd(vsdPort, 'epoll');
const vsd2 = startVsd(vsd2Port, 'node');
const vsdT = startVsd(vsdTPort, 'epoll', THREADS);
const ask = (child, m) => new Promise((r) => (child.once('message', r), child.send(m)));
await Promise.all([vsd, vsd2, vsdT].map((c) => new Promise((r) => c.once('message', r)))); // ready

for (const [p, w] of [
  [rs1, 'backend 1'],
  [rs2, 'backend 2'],
  [vsdPort, 'vsd'],
  [vsdTPort, 'vsd-threads'],
  [vsd2Port, 'vsd-node'],
  [haPort, 'haproxy'],
  ...(haveStream ? [[ngxPort, 'nginx stream']] : []),
])
  await waitPort(p, w);

// --- wrk ------------------------------------------------------------------------------------------------
function wrk(args) {
  const out = execFileSync('wrk', args, { encoding: 'utf8', timeout: 60_000 });
  const num = (re) => {
    const m = re.exec(out);
    if (!m) return NaN;
    const mult = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2] ?? ''] ?? 1;
    return Number(m[1]) * mult;
  };
  const lat = (p) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? Number(m[1]) * { us: 1, ms: 1000, s: 1e6 }[m[2]] : NaN;
  };
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out)?.[0] ?? '';
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const bytes = num(/requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read/);
  return {
    requests,
    bytes,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    bytesPerSec: num(/Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/),
    p50: lat(50),
    p99: lat(99),
    errors,
  };
}

/** CPU ticks (user + system, all threads) of a process and its children, from /proc. */
function cpuTicks(pid) {
  let t = 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    t = Number(f[11]) + Number(f[12]);
    for (const k of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) t += cpuTicks(Number(k));
  } catch {}
  return t;
}
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);
const VSD_T = `vsd-${THREADS}t`;
const allTargets = [
  ['direct', rs1],
  ['vsd', vsdPort],
  [VSD_T, vsdTPort],
  ['vsd-node', vsd2Port],
  ['haproxy', haPort],
  ...(haveStream ? [['nginx-stream', ngxPort]] : []),
];
// BENCH_TARGETS=vsd-2t,haproxy: measure only those (with BENCH_ONLY; HAProxy is always kept, every ratio needs it).
const only = process.env.BENCH_TARGETS?.split(',');
const targets = only ? allTargets.filter(([n]) => n === 'haproxy' || only.includes(n)) : allTargets;
const tests = {
  close: (port) => wrk(['-t2', '-c32', `-d${DURATION}`, '-H', 'Connection: close', `http://127.0.0.1:${port}/small`]),
  keepalive: (port) => wrk(['-t2', '-c32', `-d${DURATION}`, `http://127.0.0.1:${port}/small`]),
  bulk: (port) => wrk(['-t2', '-c4', `-d${DURATION}`, `http://127.0.0.1:${port}/large`]),
  latency: (port) => wrk(['-t1', '-c4', `-d${DURATION}`, '--latency', `http://127.0.0.1:${port}/small`]),
};
// BENCH_ONLY=close (or keepalive, bulk, latency): that figure alone, a summary on stdout, bench/README.md untouched;
// for comparing builds quickly.
const ONLY = process.env.BENCH_ONLY;
if (ONLY && !tests[ONLY]) throw new Error(`BENCH_ONLY: one of ${Object.keys(tests).join(', ')}`);
if (only && !ONLY) throw new Error('BENCH_TARGETS needs BENCH_ONLY: the full report has every target');
if (ONLY) for (const k of Object.keys(tests)) if (k !== ONLY) delete tests[k];
// Warm up every target (JIT, connection pools, page cache) before measuring.
for (const [, port] of targets) wrk(['-t2', '-c32', '-d1s', `http://127.0.0.1:${port}/small`]);
const pids = { vsd: vsd.pid, [VSD_T]: vsdT.pid, 'vsd-node': vsd2.pid, haproxy: haproxy.pid, ...(haveStream ? { 'nginx-stream': ngxStream.pid } : {}) };
/** A uniformly random order (Fisher-Yates; sorting by a random comparator is not uniform). */
const shuffled = (xs) => {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};
/** Every round's figures: runs[test][target][round]. */
const runs = {};
const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
for (let round = 0; round < ROUNDS; round++) {
  for (const [test, run] of Object.entries(tests)) {
    // Rotate the order each round so background load does not always hit the same target (BENCH_SHUFFLE=1: a random
    // order each round instead, so no target always follows the same one).
    const order = process.env.BENCH_SHUFFLE ? shuffled(targets) : targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const [name, port] of order) {
      const pid = pids[name];
      const t0 = pid ? cpuTicks(pid) : NaN;
      const r = run(port);
      // CPU the proxy spent per request (per MB for bulk): what decides throughput when the cores are all busy.
      const spent = pid ? (cpuTicks(pid) - t0) * TICK_US : NaN;
      r.cpuPerReq = spent / r.requests;
      r.cpuPerMB = spent / (r.bytes / 1e6);
      ((runs[test] ??= {})[name] ??= []).push(r);
      process.stderr.write(
        `round ${round + 1} ${test} ${name}: ${Math.round(r.rps)} req/s ${(r.bytesPerSec / 1e6).toFixed(1)} MB/s p50 ${r.p50}us p99 ${r.p99}us ${r.errors}\n`,
      );
    }
  }
}

// Each figure is the median of its rounds; a ratio is the median of the rounds' ratios, each taken between two targets
// measured minutes apart at most, so a slow spell of the shared machine does not decide it.
const results = {};
for (const [test, byName] of Object.entries(runs)) {
  results[test] = {};
  for (const [name, rs] of Object.entries(byName)) {
    const out = {
      errors: rs
        .map((x) => x.errors)
        .filter(Boolean)
        .join('; '),
    };
    for (const k of ['rps', 'bytesPerSec', 'p50', 'p99', 'cpuPerReq', 'cpuPerMB']) out[k] = median(rs.map((x) => x[k]));
    results[test][name] = out;
  }
}
/** The median over rounds of a's figure divided by b's. */
const pairedRatio = (test, key, a, b) => median((runs[test][a] ?? []).map((x, i) => x[key] / runs[test][b]?.[i]?.[key]));

if (ONLY) {
  const r = results[ONLY];
  const key = ONLY === 'bulk' ? 'bytesPerSec' : ONLY === 'latency' ? 'p50' : 'rps';
  for (const [n] of targets)
    console.log(
      `${n}: ${Math.round(r[n][key])} (${key}, median of ${ROUNDS}), proxy CPU ${Math.round(r[n].cpuPerReq)} µs/request; / HAProxy ${pairedRatio(ONLY, key, n, 'haproxy').toFixed(2)}x (rounds: ${runs[ONLY][n].map((x, i) => (x[key] / runs[ONLY].haproxy[i][key]).toFixed(2)).join(' ')})`,
    );
  for (const c of [vsd, vsd2, vsdT]) if (c.connected) c.send('stop');
  await new Promise((res) => setTimeout(res, 500));
  process.exit(0);
}

// --- RSS with idle proxied connections --------------------------------------------------------------------
function rssOf(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) * 1024;
}
async function openIdle(port, n, socks) {
  for (let i = 0; i < n; i += 250) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 250); j++)
      batch.push(
        new Promise((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
          socks.push(s);
          s.on('error', reject);
          s.setTimeout(30_000, () => reject(new Error(`connect timeout after ${socks.length} connections`)));
        }),
      );
    await Promise.all(batch);
  }
  for (const s of socks) s.setTimeout(0);
}
async function idleRss(name, port, measure) {
  const before = await measure();
  const socks = [];
  try {
    await openIdle(port, IDLE_CONNS, socks);
    await new Promise((r) => setTimeout(r, 1500));
    const after = await measure();
    return { name, before, after, perConn: (after - before) / IDLE_CONNS };
  } catch (err) {
    process.stderr.write(`idle ${name}: ${err.message}\n`);
    return { name, before, after: NaN, perConn: NaN, error: err.message };
  } finally {
    for (const s of socks) s.destroy();
    await new Promise((r) => setTimeout(r, 2000));
  }
}
const idle = [];
idle.push(
  await idleRss('vsd', vsdPort, async () => {
    const r = await ask(vsd, 'rss');
    return r.rss;
  }),
);
idle.push(
  await idleRss('vsd-node', vsd2Port, async () => {
    const r = await ask(vsd2, 'rss');
    return r.rss;
  }),
);
idle.push(await idleRss('haproxy', haPort, async () => rssOf(haproxy.pid)));

// --- report ---------------------------------------------------------------------------------------------------
const cpu = cpus();
const machine = [
  `${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}`,
  `node ${process.version}; ${execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0]}; ${spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim()}; ${spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0].split(' Copyright')[0]}`,
  `load average at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (a shared machine: other work ran at the same time)`,
];
const f0 = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const mb = (x) => (Number.isFinite(x) ? (x / 1e6).toFixed(1) : 'n/a');
const names = targets.map(([n]) => n);
const lines = [];
lines.push('## Proxy', '');
lines.push(`Run with \`pnpm bench:proxy\` (bench/proxy/run.mjs) on ${new Date().toISOString().slice(0, 10)}.`, '');
lines.push('Machine:', '', ...machine.map((m) => `- ${m}`), '');
lines.push(
  `Setup: two nginx backends (1 worker) serving a 1 KiB and a 16 MiB file on 127.0.0.1; round robin over both in every proxy. ` +
    `vsd = the proxy dataplane of the built @vsd/core driven directly (bench/proxy/vsd-proxy.mjs) with its default TCP engine (epoll: one thread moving bytes with libc calls); ${VSD_T} = the same with \`threads: ${THREADS}\` (one epoll engine thread per CPU sharing the listener through SO_REUSEPORT); vsd-node = the same dataplane with \`engine: 'node'\` (Node's net sockets, the fallback); HAProxy ${'2.6'} in TCP mode (default threads = CPUs); nginx stream module (worker_processes auto). ` +
    `wrk ${DURATION} per figure and round, ${ROUNDS} rounds, targets rotated each round; each figure is the median of its rounds and each ratio the median of the rounds' ratios. Everything (wrk, proxies, backends) shares the same ${cpu.length} cores.`,
  '',
);
const mine = ['vsd', VSD_T, 'vsd-node'];
lines.push(
  `| figure | ${names.join(' | ')} | ${mine.map((n) => `${n} / HAProxy`).join(' | ')} |`,
  `|---|${names.map(() => '---:').join('|')}|${mine.map(() => '---:').join('|')}|`,
);
const fx = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');
const row = (label, [test, key], fmt) =>
  lines.push(
    `| ${label} | ${names.map((n) => fmt(results[test][n]?.[key])).join(' | ')} | ${mine.map((n) => fx(pairedRatio(test, key, n, 'haproxy'))).join(' | ')} |`,
  );
const get = (test, key) => [test, key];
const rowInv = (label, [test, key], fmt) =>
  lines.push(
    `| ${label} | ${names.map((n) => fmt(results[test][n]?.[key])).join(' | ')} | ${mine.map((n) => fx(pairedRatio(test, key, 'haproxy', n))).join(' | ')} |`,
  );
row('req/s, new connection per request (Connection: close, 32 conns)', get('close', 'rps'), f0);
row('req/s, keep-alive (32 conns)', get('keepalive', 'rps'), f0);
row('MB/s, bulk 16 MiB responses (4 conns)', get('bulk', 'bytesPerSec'), mb);
rowInv('proxy CPU µs per request (Connection: close)', get('close', 'cpuPerReq'), f0);
rowInv('proxy CPU µs per request (keep-alive)', get('keepalive', 'cpuPerReq'), f0);
rowInv('proxy CPU µs per MB (bulk)', get('bulk', 'cpuPerMB'), f0);
row('p50 latency, µs (keep-alive, 4 conns)', get('latency', 'p50'), f0);
row('p99 latency, µs (keep-alive, 4 conns)', get('latency', 'p99'), f0);
lines.push('');
const spread = (test, key, n) => {
  const xs = (runs[test][n] ?? []).map((x, i) => x[key] / runs[test].haproxy?.[i]?.[key]).filter(Number.isFinite);
  return xs.length ? `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}` : 'n/a';
};
lines.push(
  `Round-by-round ratios against HAProxy (min-max over ${ROUNDS} rounds): ${mine
    .map((n) => `${n} new connections ${spread('close', 'rps', n)}, keep-alive ${spread('keepalive', 'rps', n)}, bulk ${spread('bulk', 'bytesPerSec', n)}`)
    .join('; ')}.`,
  '',
);
const added = (n, p) => results.latency[n][p] - results.latency.direct[p];
lines.push(
  `Added latency vs direct: ${names
    .filter((n) => n !== 'direct')
    .map((n) => `${n} p50 +${f0(added(n, 'p50'))} µs / p99 +${f0(added(n, 'p99'))} µs`)
    .join('; ')}.`,
  '',
);
lines.push(
  `RSS with ${IDLE_CONNS.toLocaleString('en-US')} idle proxied connections: ${idle
    .map((i) =>
      i.error ? `${i.name} failed (${i.error})` : `${i.name} ${mb(i.before)} MB -> ${mb(i.after)} MB = ${(i.perConn / 1024).toFixed(1)} KB per connection`,
    )
    .join(
      '; ',
    )} (target for vsd: <= 20 KB)${IDLE_CONNS < WANTED_IDLE ? `; ${IDLE_CONNS.toLocaleString('en-US')} rather than ${WANTED_IDLE.toLocaleString('en-US')} because the hard descriptor limit here is ${NOFILE} and cannot be raised (no CAP_SYS_RESOURCE), and each proxied connection holds two descriptors` : ''}.`,
  '',
);
lines.push(
  'Reading these figures:',
  '',
  '- Every process (wrk, the proxy, the backends) shares the same cores and they are all busy during a run, so throughput',
  '  follows the CPU each proxy spends per request: the "proxy CPU" rows (user + system time of the proxy process and its',
  '  threads or children, from /proc, divided by the requests wrk completed; lower is better, ratios are HAProxy / vsd).',
  "- vsd's epoll engine makes the same syscalls a C proxy makes (accept4, socket, connect, epoll_ctl, recv, send,",
  '  shutdown, close: about 14 per proxied request, HAProxy about 18; the last bytes before a FIN go out with MSG_MORE so',
  '  data and FIN share one segment, and the recv() that would only return 0 is skipped; a new client is read right after',
  "  the real server's connect(), so its request reaches the backend with the connection); vsd-node pays Node's stream",
  '  machinery on top (a Socket, a Readable/Writable state and callbacks per connection). See docs/ARCHITECTURE.md',
  '  ("Proxy dataplane").',
  `- ${VSD_T} is the row to compare with HAProxy (threads = CPUs) and nginx (worker_processes auto): one engine thread`,
  '  per CPU, each with its own SO_REUSEPORT listener and its own share of the connections (rr keeps one sequence',
  "  through a shared position, lc/wlc see every thread's connections, persistence stays exact). vsd's default is one",
  '  thread, whose loop is the serial bottleneck in the',
  '  new-connection test: it costs about the same CPU per request but leaves ~15 % of the machine idle.',
  '- The machine was shared with other jobs (see the load average): a figure can swing by 20 % or more between rounds.',
  '  Targets are measured in rotation, each figure is the median of its rounds and each ratio the median of the',
  "  rounds' ratios (the spread of those is printed above the table's notes).",
  '',
);
const errs = Object.entries(results).flatMap(([t, r]) =>
  Object.entries(r)
    .filter(([, v]) => v.errors)
    .map(([n, v]) => `${t}/${n}: ${v.errors}`),
);
if (errs.length) lines.push(`wrk reported: ${errs.join('; ')}.`, '');
const section = lines.join('\n');
console.log(section);

const readme = join(ROOT, 'bench', 'README.md');
const existing = existsSync(readme) ? readFileSync(readme, 'utf8') : '# Benchmarks\n';
const start0 = existing.indexOf('\n## Proxy\n');
let next;
if (start0 >= 0) {
  const after = existing.indexOf('\n## ', start0 + 1);
  next = existing.slice(0, start0 + 1) + section + (after >= 0 ? existing.slice(after) : '\n');
} else next = `${existing.trimEnd()}\n\n${section}\n`;
writeFileSync(readme, next);
// vsd-proxy exits on 'stop' without answering; the exit handler SIGTERMs whatever is left.
for (const c of [vsd, vsd2]) if (c.connected) c.send('stop');
await new Promise((r) => setTimeout(r, 500));
process.exit(0);
