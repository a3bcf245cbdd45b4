// Guest half of test/uml/nfs-agent.test.ts, run by nfs-agent.sh inside user-mode-linux once the kernel NFS server
// exports a tmpfs and it is hard-mounted (NFSv4 over 127.0.0.1) at $NFS_MNT. Starts a vsd dispatcher (proxy
// dataplane, agents hub on 127.0.0.1) and a vsd-agent watching the mount, then walks the phases: healthy, NFS server
// stopped (hard mount hangs), server started again, unmounted, mounted from the wrong source, wrong filesystem type,
// repaired. Every wait is bounded; each phase records timings, hub snapshots and agent-check answers into
// $VSD_OUT/results.json, plus `vsctl agents --json` at a few points. This process never touches the mount itself
// (a hung NFS server would hang it too): mounts, unmounts and the server go through bounded child processes.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
// Only node builtins behind it: cheap to load in the guest.
import { MountProber } from '../../../packages/agent/dist/storage/probe.js';

const ROOT = process.env.VSD_ROOT;
const OUT = process.env.VSD_OUT;
const MNT = process.env.NFS_MNT;
const SERVER_SH = process.env.NFS_SERVER_SH;
const WORK = process.env.NFS_WORK;
const MOUNT_OPTS = process.env.NFS_MOUNT_OPTS;
const SENTINEL = '.vsd-sentinel';
const SOURCE = '127.0.0.1:/';
const WRONG_SOURCE = '127.0.0.2:/';
// The probe timeout is calibrated (see calibrate()): 2 s on an idle machine, more when process creation in the
// guest is slow (UML on a loaded host: /bin/true can take a second), so that a healthy mount never times out.
let TIMEOUT_S = 2;
let INTERVAL_S = 0.5;
const SILENT_AFTER = 5;
const AGENT = 'nfs-web';
const DEADLINE = Date.now() + Number(process.env.NFS_DRIVER_BUDGET_MS ?? 360_000);
const KEY = 'uml-nfs-agent-key-0123456789abcdef';
/** What nfs-agent.sh wrote into the export; its hash is pinned for the consistency group. */
const SENTINEL_TEXT = process.env.NFS_SENTINEL_TEXT;

const t0 = Date.now();
const results = { startedAt: t0, silentAfter: SILENT_AFTER, mount: MNT, source: SOURCE, phases: [], error: null };
const children = [];
const logs = { vsd: '', agent: '' };

function save() {
  results.elapsedMs = Date.now() - t0;
  writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 1));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A bounded child process; never rejects. */
function run(cmd, args, timeoutMs = 20_000) {
  return new Promise((resolve) => {
    const started = Date.now();
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : err.killed ? 'killed' : 1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

async function sh(script, timeoutMs) {
  const r = await run('bash', ['-c', script], timeoutMs);
  if (r.code !== 0) throw new Error(`guest command failed (${r.code}): ${script}\n${r.stderr}`);
  return r;
}

function spawnLogged(name, args) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const add = (c) => {
    logs[name] += c.toString();
    if (logs[name].length > 2_000_000) logs[name] = logs[name].slice(-1_000_000);
  };
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  children.push(child);
  return child;
}

function api(path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath: join(WORK, 'vsd.sock'), path, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${path}: ${res.statusCode} ${body.slice(0, 200)}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: timeout`)));
    req.on('error', reject);
  });
}

/** The hub's view of the agent and the effective weight of its real server. */
async function view() {
  const [agents, rss] = await Promise.all([api('/v1/agents'), api('/v1/realservers')]);
  const a = agents.agents.find((x) => x.agent === AGENT) ?? null;
  const rs = rss.services.flatMap((s) => s.realServers).find((r) => r.key === RS_NFS) ?? null;
  const m = a?.report?.mounts?.[0] ?? null;
  return {
    at: Date.now(),
    state: a?.state ?? null,
    reasons: a?.reasons ?? [],
    storageProblems: a?.storageProblems ?? [],
    seq: a?.report?.seq ?? null,
    reportAt: a?.report?.at ?? null,
    mount: m,
    effectiveWeight: rs?.effectiveWeight ?? null,
    storageReason: rs?.sources?.storage?.reason ?? null,
  };
}

/** One line from the agent's HAProxy agent-check port: proof that its process answers. */
function agentCheck() {
  return new Promise((resolve) => {
    const started = Date.now();
    let data = '';
    const s = net.connect({ host: '127.0.0.1', port: CHECK_PORT });
    const done = (line) => {
      s.destroy();
      resolve({ line, ms: Date.now() - started });
    };
    s.setTimeout(3000, () => done('(no answer within 3 s)'));
    s.on('data', (c) => (data += c));
    s.on('end', () => done(data.trim()));
    s.on('error', (e) => done(`(error ${e.code})`));
  });
}

/**
 * Live probe process groups for the watched mount (the agent allows at most one per mount). Groups, not
 * processes: the probe's sh forks a subshell per step, which carries the same command line until it execs.
 */
function probeGroups() {
  const groups = new Set();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (cmd.includes('vsd-probe') && cmd.includes(MNT) && f[0] !== 'Z') groups.add(f[2]);
    } catch {
      /* exited */
    }
  }
  return groups.size;
}

/** `vsctl agents --json` (a Node start: seconds in a busy guest, so callers overlap it with other work). */
async function vsctl(tag) {
  const r = await run(process.execPath, [join(ROOT, 'packages/cli/bin/vsctl.js'), '--socket', join(WORK, 'vsd.sock'), 'agents', '--json'], 90_000);
  writeFileSync(join(OUT, `vsctl-agents-${tag}.json`), r.code === 0 ? r.stdout : JSON.stringify({ failed: r.code, stderr: r.stderr }));
}

/** Poll the hub until `pred(view)` holds; bounded by `ms` and by the driver's deadline. */
async function until(phase, what, pred, ms) {
  const limit = Math.min(Date.now() + ms, DEADLINE);
  let last = null;
  while (Date.now() < limit) {
    try {
      last = await view();
      if (pred(last)) {
        phase.waits.push({ what, ok: true, ms: Date.now() - phase.startedAt, view: last });
        return last;
      }
    } catch (e) {
      last = { error: e.message };
    }
    await sleep(200);
  }
  phase.waits.push({ what, ok: false, ms: Date.now() - phase.startedAt, view: last });
  throw new Error(`${phase.name}: not ${what} within ${ms} ms; last view: ${JSON.stringify(last)}`);
}

/** CPU time (ms) of our processes in the guest: what competes with the agent's probes on UML's one CPU. */
function cpuMs() {
  const out = {};
  for (const [name, pid] of Object.entries({ driver: process.pid, ...(results.pids ?? {}) })) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out[name] = (Number(f[11]) + Number(f[12])) * 10; // utime + stime in USER_HZ (100) ticks
    } catch {
      out[name] = null;
    }
  }
  return out;
}

async function phase(name, body) {
  const p = { name, startedAt: Date.now(), waits: [], ok: false };
  const cpu0 = cpuMs();
  results.phases.push(p);
  try {
    await body(p);
    p.ok = true;
  } catch (e) {
    p.error = e.message;
  }
  p.ms = Date.now() - p.startedAt;
  const cpu1 = cpuMs();
  p.cpuMs = Object.fromEntries(Object.keys(cpu1).map((k) => [k, cpu1[k] !== null && cpu0[k] != null ? cpu1[k] - cpu0[k] : null]));
  save();
  return p.ok;
}

const healthy = (v) =>
  v.state === 'up' && v.effectiveWeight === 100 && v.mount?.responsive === true && v.mount?.writable === true && v.mount?.source === SOURCE;

function listen(server, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server.address().port));
  });
}

// Two real servers: 127.0.0.1 has the agent (its storage decides), 127.0.0.2 has none (stays in service).
const webNfs = http.createServer((_q, s) => s.end('nfs-web'));
const webLocal = http.createServer((_q, s) => s.end('local-web'));
const PORT_NFS = await listen(webNfs, '127.0.0.1');
const PORT_LOCAL = await listen(webLocal, '127.0.0.2');
const RS_NFS = `127.0.0.1:${PORT_NFS}`;
const probePort = net.createServer();
const CHECK_PORT = await listen(probePort, '127.0.0.1');
probePort.close();
const hubPort = net.createServer();
const HUB_PORT = await listen(hubPort, '127.0.0.1');
hubPort.close();
const VIP_PORT = 18080;

/** `n` new connections through the proxy dataplane's VIP; answers counted per real server. */
async function spread(n) {
  const counts = {};
  for (let i = 0; i < n; i++) {
    const body = await new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.3', port: VIP_PORT, path: '/', agent: false, timeout: 10_000 }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve(b));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve(`error:${e.code ?? e.message}`));
    });
    counts[body] = (counts[body] ?? 0) + 1;
  }
  return counts;
}

/**
 * Probe timeout: 5 x the slowest of three probes on the healthy mount, made with the agent's own prober (the same
 * child script, spawned from Node as the agent does) while vsd runs; at least 2 s (the value on an idle machine),
 * at most 20 s. A fixed 2 s is not enough for a UML guest on a busy 2-core host, where the probe's half a dozen
 * process starts alone take seconds and a healthy mount would be reported as hung.
 */
async function calibrate() {
  const prober = new MountProber();
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const r = await prober.probe({ path: MNT, sentinel: SENTINEL, writeFile: '.vsd-calibrate', timeoutMs: 30_000 });
    if (!r.responsive || !r.writable) throw new Error(`calibration probe on the healthy NFS mount failed: ${JSON.stringify(r)}`);
    runs.push(r.ms);
  }
  TIMEOUT_S = Math.min(20, Math.max(2, Math.ceil((5 * Math.max(...runs)) / 1000)));
  INTERVAL_S = TIMEOUT_S <= 2 ? 0.5 : 1;
  Object.assign(results, { calibrationMs: runs, timeout: TIMEOUT_S, interval: INTERVAL_S });
  save();
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  writeFileSync(join(WORK, 'agent.key'), KEY);
  const fakeProc = join(WORK, 'proc');
  mkdirSync(fakeProc, { recursive: true });
  // Load is not under test: a fixed idle loadavg keeps the agent's weight at 100 % in a busy guest.
  writeFileSync(join(fakeProc, 'loadavg'), '0.00 0.00 0.00 1/100 1\n');
  writeFileSync(
    join(WORK, 'vsd.yaml'),
    `agents: { listen: 127.0.0.1:${HUB_PORT}, key_file: ${join(WORK, 'agent.key')}, silent_after: ${SILENT_AFTER}, sentinels: { www: ${createHash('sha256').update(SENTINEL_TEXT).digest('hex')} } }
virtual_servers:
  - address: 127.0.0.3:${VIP_PORT}
    lb_algo: rr
    lb_kind: NAT
    real_servers:
      - { address: ${RS_NFS}, weight: 100 }
      - { address: 127.0.0.2:${PORT_LOCAL}, weight: 100 }
`,
  );
  const vsd = spawnLogged('vsd', [
    join(ROOT, 'packages/daemon/bin/vsd.js'),
    '--config',
    join(WORK, 'vsd.yaml'),
    '--socket',
    join(WORK, 'vsd.sock'),
    '--state',
    'none',
    '--dataplane',
    'proxy',
    '--log-level',
    'info',
  ]);
  results.pids = { vsd: vsd.pid };
  const vsdUp = Date.now() + 120_000;
  for (;;) {
    try {
      await api('/v1/agents');
      break;
    } catch (e) {
      if (Date.now() > vsdUp || vsd.exitCode !== null) throw new Error(`vsd did not come up: ${e.message}\n${logs.vsd.slice(-2000)}`);
      await sleep(250);
    }
  }
  results.vsdUpMs = Date.now() - t0;
  await calibrate();
  writeFileSync(
    join(WORK, 'agent.json'),
    JSON.stringify({
      name: AGENT,
      addresses: ['127.0.0.1'],
      dispatchers: [`127.0.0.1:${HUB_PORT}`],
      key_file: join(WORK, 'agent.key'),
      report_interval: INTERVAL_S,
      mounts: [{ path: MNT, fstype: 'nfs4', source: SOURCE, sentinel: SENTINEL, group: 'www', timeout: TIMEOUT_S }],
      agent_check: { listen: `127.0.0.1:${CHECK_PORT}` },
      proc_root: fakeProc,
      log_level: 'info',
    }),
  );
  const agent = spawnLogged('agent', [
    '--lite-mode',
    '--no-expose-wasm',
    '--max-semi-space-size=1',
    '--max-old-space-size=24',
    join(ROOT, 'packages/agent/bin/vsd-agent.js'),
    '--config',
    join(WORK, 'agent.json'),
  ]);
  results.pids = { vsd: vsd.pid, agent: agent.pid };

  const okStart = await phase('healthy', async (p) => {
    await until(p, 'the agent reporting a healthy NFS mount', healthy, 90_000);
    p.agentCheck = await agentCheck();
    p.spread = await spread(10);
  });
  if (!okStart) return;

  await phase('hung', async (p) => {
    const before = await view();
    p.seqBefore = before.seq;
    const stop = await sh(`${SERVER_SH} stop`, 20_000);
    p.stoppedAt = Number(stop.stdout.trim().split('\n').at(-1));
    if (!Number.isFinite(p.stoppedAt) || p.stoppedAt <= 0) throw new Error(`nfs-server.sh stop printed no time: ${stop.stdout}`);
    p.stopMs = stop.ms;
    const v = await until(p, 'reported unresponsive', (x) => x.mount?.responsive === false, (TIMEOUT_S + 2 * INTERVAL_S) * 1000 + 15_000);
    // The report's own timestamp: when the agent knew (independent of how often this driver polls the hub).
    p.detectMs = v.reportAt - p.stoppedAt;
    const d = await until(p, 'drained', (x) => x.effectiveWeight === 0, 20_000);
    p.drainMs = d.at - p.stoppedAt; // as this driver saw it (hub polled every 100 ms)
    // Keep the server down a few report intervals: the agent keeps reporting and answering, probes do not pile up.
    const seq0 = (await view()).seq;
    const snap = vsctl('hung');
    let maxProbes = 0;
    const checks = [];
    // Long enough for a probe to time out and the next one to start (or be refused while the old one is stuck).
    const watchMs = Math.max(4000, TIMEOUT_S * 1000 + 2000);
    const watchUntil = Date.now() + watchMs;
    while (Date.now() < watchUntil) {
      maxProbes = Math.max(maxProbes, probeGroups());
      await sleep(200);
    }
    checks.push(await agentCheck());
    p.maxProbes = maxProbes;
    p.agentCheck = checks[0];
    const after = await view();
    p.seqAdvance = after.seq - seq0;
    p.watchMs = watchMs;
    p.stillDrained = after.effectiveWeight === 0 && after.state === 'drained';
    p.storageReason = after.storageReason;
    p.agentAlive = agent.exitCode === null && agent.signalCode === null;
    p.spread = await spread(6);
    await snap;
  });

  await phase('repaired', async (p) => {
    const start = await sh(`${SERVER_SH} start`, 20_000);
    p.startMs = start.ms;
    await until(p, 'restored', healthy, 60_000 + TIMEOUT_S * 3000);
    p.agentCheck = await agentCheck();
  });

  await phase('unmounted', async (p) => {
    await sh(`umount -l ${MNT}`, 20_000);
    // The agent's record and the dispatcher's verdict (the overlay reason) are updated apart: wait for both.
    const v = await until(p, 'reported not mounted', (x) => x.mount?.present === false && /not mounted/.test(x.storageReason ?? ''), 20_000);
    p.reason = v.storageReason;
    await until(p, 'drained', (x) => x.effectiveWeight === 0, 20_000);
    p.agentCheck = await agentCheck();
  });

  await phase('wrong-source', async (p) => {
    await sh(`timeout -s KILL 30 mount -t nfs4 -o ${MOUNT_OPTS} ${WRONG_SOURCE} ${MNT}`, 40_000);
    const v = await until(
      p,
      'reported from the wrong source',
      (x) => x.mount?.present === true && x.mount?.source === WRONG_SOURCE && (x.storageReason ?? '').includes(WRONG_SOURCE),
      20_000,
    );
    p.reason = v.storageReason;
    p.mount = v.mount;
    p.effectiveWeight = v.effectiveWeight;
    await sh(`umount -l ${MNT}`, 20_000);
  });

  await phase('wrong-fstype', async (p) => {
    await sh(`mount -t tmpfs -o size=1m impostor ${MNT} && printf x > ${MNT}/${SENTINEL}`, 20_000);
    const v = await until(
      p,
      'reported with the wrong filesystem type',
      (x) => x.mount?.present === true && x.mount?.fstype === 'tmpfs' && (x.storageReason ?? '').includes('tmpfs'),
      20_000,
    );
    p.reason = v.storageReason;
    p.effectiveWeight = v.effectiveWeight;
    await sh(`umount -l ${MNT}`, 20_000);
  });

  await phase('restored', async (p) => {
    await sh(`timeout -s KILL 30 mount -t nfs4 -o ${MOUNT_OPTS} ${SOURCE} ${MNT}`, 40_000);
    await until(p, 'restored', healthy, 30_000 + TIMEOUT_S * 3000);
    const snap = vsctl('restored');
    p.spread = await spread(10);
    await snap;
  });

  results.agentRssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${agent.pid}/status`, 'utf8'))?.[1] ?? 0);
  results.agentExit = { code: agent.exitCode, signal: agent.signalCode };
  results.vsdExit = { code: vsd.exitCode, signal: vsd.signalCode };
}

try {
  await main();
} catch (e) {
  results.error = e.stack ?? String(e);
} finally {
  save();
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  writeFileSync(join(OUT, 'vsd.log'), logs.vsd);
  writeFileSync(join(OUT, 'agent.log'), logs.agent);
  webNfs.close();
  webLocal.close();
  process.exit(0);
}
