// The peer for the health-check benchmark: HAProxy health-checking the same loopback real servers as vsd (half
// TCP connect checks, half HTTP GET expecting 200) every `--interval` seconds, measured the same way: CPU of the
// haproxy process (all its threads, from /proc) over `--duration` seconds after a warm-up, and its largest RSS.
// Prints one JSON document. Usage: node bench/health/peer-haproxy.mjs [--servers 1000] [--interval 1] [--duration 20]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const servers = arg('servers', 1000);
const interval = arg('interval', 1);
const duration = Math.min(arg('duration', 20), 120);
const warmup = arg('warmup', 3);
const here = fileURLToPath(new URL('.', import.meta.url));
const tcpCount = Math.ceil(servers / 2);
const httpCount = servers - tcpCount;

const backends = spawn(process.execPath, [`${here}backends.mjs`, String(tcpCount), String(httpCount)], { stdio: ['pipe', 'pipe', 'inherit'] });
const ports = await new Promise((resolve, reject) => {
  createInterface({ input: backends.stdout }).once('line', (l) => resolve(JSON.parse(l)));
  backends.once('exit', (code) => reject(new Error(`backends exited ${code}`)));
});

// HAProxy refuses to start without a listener: one idle frontend on a free loopback port, never connected to.
const idlePort = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'vsd-bench-health-haproxy-'));
const inter = `${Math.round(interval * 1000)}ms`;
// The checks as keepalived's would be: connect timeout 2 s (HAProxy's "timeout check"), rise/fall defaults.
const cfg = [
  'global',
  '  maxconn 4000',
  `  stats socket ${join(dir, 'stats.sock')} mode 600`,
  'defaults',
  '  mode tcp',
  '  timeout connect 2s',
  '  timeout check 2s',
  '  timeout client 10s',
  '  timeout server 10s',
  'frontend idle',
  `  bind 127.0.0.1:${idlePort}`,
  '  default_backend tcp_checked',
  'backend tcp_checked',
  ...ports.tcp.map((p, i) => `  server t${i} 127.0.0.1:${p} check inter ${inter}`),
  'backend http_checked',
  '  option httpchk GET /',
  '  http-check expect status 200',
  ...ports.http.map((p, i) => `  server h${i} 127.0.0.1:${p} check inter ${inter}`),
  '',
].join('\n');
writeFileSync(join(dir, 'haproxy.cfg'), cfg);
const haproxy = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
haproxy.stderr.on('data', (d) => (stderr += d));
const cleanup = () => {
  if (haproxy.exitCode === null) haproxy.kill('SIGTERM');
  backends.stdin.end();
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

const TICK_US = 1e6 / (Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100);
const ticks = () => {
  const f = readFileSync(`/proc/${haproxy.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(f[11]), system: Number(f[12]) };
};
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${haproxy.pid}/status`, 'utf8'))[1]) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

await sleep(warmup * 1000);
if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
const t0 = ticks();
const at0 = process.hrtime.bigint();
let rssMax = 0;
for (let t = 0; t < duration; t++) {
  await sleep(1000);
  rssMax = Math.max(rssMax, rss());
}
const t1 = ticks();
// Every server must be UP, or the comparison would price failing checks.
const stat = await new Promise((resolve, reject) => {
  let out = '';
  const c = connect(join(dir, 'stats.sock'), () => c.write('show stat\n'));
  c.on('data', (d) => (out += d));
  c.on('end', () => resolve(out));
  c.on('error', reject);
});
const rows = stat.split('\n').filter((l) => /^(tcp|http)_checked,[th]\d+,/.test(l));
const up = rows.filter((l) => l.split(',')[17] === 'UP').length;
const elapsedS = Number(process.hrtime.bigint() - at0) / 1e9;
const userS = ((t1.user - t0.user) * TICK_US) / 1e6;
const systemS = ((t1.system - t0.system) * TICK_US) / 1e6;
const checksPerS = servers / interval;
const cpuPerCheckUs = ((userS + systemS) * 1e6) / (checksPerS * elapsedS);
console.log(
  JSON.stringify({
    peer: execFileSync('haproxy', ['-v'], { encoding: 'utf8' }).split('\n')[0],
    servers,
    interval,
    elapsedS: Number(elapsedS.toFixed(2)),
    cpuPct: Number((((userS + systemS) / elapsedS) * 100).toFixed(2)),
    userPct: Number(((userS / elapsedS) * 100).toFixed(2)),
    systemPct: Number(((systemS / elapsedS) * 100).toFixed(2)),
    // HAProxy checks every server once per `inter` (no retries needed when all are up), so the rate is servers / interval.
    cpuPerCheckUs: Number(cpuPerCheckUs.toFixed(1)),
    rssMaxMB: Number((rssMax / 1e6).toFixed(1)),
    serversUp: up,
  }),
);
process.exit(0);
