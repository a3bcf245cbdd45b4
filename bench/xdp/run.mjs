#!/usr/bin/env node
// Packets per second per dispatcher core: vsd's xdp dataplane (DR, TUN) against plain kernel IPv4 forwarding of
// the same traffic through the same namespace, and IPVS DR against plain forwarding inside user-mode-linux.
// See bench/README.md ("XDP") for the method. Not part of the test suite.
//
// Usage: pnpm bench:xdp [-- --seconds 3 --rounds 3 --flows 16384 --ports-per-addr 256 --scheduler mh
//                          --uml-rounds 9 --uml-seconds 2 --skip-host --skip-generators --skip-xdp --skip-uml --write]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runInUml, umlKernelRelease } from '../../test/uml/runner.mjs';
import { buildTools } from './build.mjs';
import { NET, Topology } from './topology.mjs';

const { values: opt } = parseArgs({
  // `pnpm bench:xdp -- --flag` passes the `--` on.
  args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    flows: { type: 'string', default: '16384' },
    'ports-per-addr': { type: 'string', default: '256' },
    scheduler: { type: 'string', default: 'mh' },
    'skip-uml': { type: 'boolean', default: false },
    'skip-xdp': { type: 'boolean', default: false },
    'skip-generators': { type: 'boolean', default: false },
    'skip-host': { type: 'boolean', default: false },
    // UML's figures swing with the host's load (it is one host process): more, shorter rounds, paired ratios.
    'uml-rounds': { type: 'string', default: '9' },
    'uml-seconds': { type: 'string', default: '2' },
    write: { type: 'boolean', default: false },
  },
});
const root = fileURLToPath(new URL('../../', import.meta.url));
const SECONDS = Math.min(Math.max(Number(opt.seconds), 0.5), 30);
const ROUNDS = Math.min(Math.max(Math.trunc(Number(opt.rounds)), 1), 20);
const FLOWS = Math.min(Math.max(Math.trunc(Number(opt.flows)), 1), 1 << 20);
const PPA = Math.min(Math.max(Math.trunc(Number(opt['ports-per-addr'])), 1), 60000);
// Every generator run is bounded in time and in count (10 Mpps for the whole interval is above anything seen here).
const MAX_PACKETS = Math.round(SECONDS * 10e6);
const WARM_SECONDS = 0.5;
const say = (s) => process.stderr.write(`${s}\n`);

const ncpu = cpus().length;
const dispatcherCpu = ncpu - 1;
const otherCpu = 0;
if (ncpu < 2) say('only one CPU: the generator, the real server and the dispatcher share it (figures are not per core)');

const tools = buildTools();
const topo = new Topology({ prefix: `xb${(process.pid % 46656).toString(36)}`, tools, dispatcherCpu, otherCpu });
let vsd = null;
const uml = new AbortController();
let interrupted = false;

function cleanup() {
  if (vsd) {
    try {
      vsd.child.stdin.end();
      vsd.child.kill('SIGTERM');
    } catch {
      /* gone */
    }
    vsd = null;
  }
  topo.destroy();
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    say(`${sig}: cleaning up`);
    interrupted = true;
    uml.abort();
    cleanup();
    // runInUml removes its work dir once the aborted guest is gone; give it a moment, bounded.
    setTimeout(() => process.exit(130), 3000).unref();
  });
}

function lineReader(child, name) {
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (l) => waiting.shift()?.(l));
  return (ms) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name}: no answer within ${ms} ms\n${err}`)), ms);
      child.once('exit', (code) => reject(new Error(`${name} exited (${code})\n${err}`)));
      waiting.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
}

async function startVsd() {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      topo.ns.dir,
      process.execPath,
      fileURLToPath(new URL('./vsd-xdp.mjs', import.meta.url)),
      topo.if.d0,
      NET.vipDr,
      NET.vipTun,
      NET.rip,
      String(NET.port),
      opt.scheduler,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const next = lineReader(child, 'vsd xdp dataplane');
  const first = await next(30_000);
  if (first !== 'ready') throw new Error(`vsd xdp dataplane did not start: ${first}`);
  vsd = {
    child,
    status: async () => {
      child.stdin.write('status\n');
      return JSON.parse(await next(10_000));
    },
    stop: async () => {
      child.stdin.write('stop\n');
      await new Promise((resolve) => {
        const t = setTimeout(() => (child.kill('SIGKILL'), resolve()), 10_000);
        child.once('exit', () => (clearTimeout(t), resolve()));
      });
    },
  };
}

async function stopVsd() {
  if (!vsd) return;
  const v = vsd;
  vsd = null;
  await v.stop();
}

function dstOf(path) {
  return path === 'xdp-tun' ? NET.vipTun : NET.vipDr;
}

/** One measured interval of `seconds` through the current dispatcher set-up. */
async function measure(path, gen, seconds, round) {
  const dst = dstOf(path);
  topo.generate(gen, { dst, flows: FLOWS, portsPerAddr: PPA, seconds: WARM_SECONDS, maxPackets: MAX_PACKETS });
  const a = await topo.counters();
  const g = topo.generate(gen, { dst, flows: FLOWS, portsPerAddr: PPA, seconds, maxPackets: MAX_PACKETS });
  const b = await topo.counters();
  const d = (k) => b[k] - a[k];
  const cpuS = d('napiNs') / 1e9;
  return {
    path,
    gen,
    round,
    seconds: g.seconds,
    offered: g.sent / g.seconds,
    handled: d('d0Rx') / g.seconds,
    rs: d('rsSink') / g.seconds,
    cpu: cpuS / g.seconds,
    perCore: cpuS > 0 ? d('d0Rx') / cpuS : 0,
    xdpRedirect: d('d0XdpRedirect'),
    xdpTx: d('d0XdpTx'),
    xdpDrops: d('d0XdpDrops'),
    ringFull: d('g0XmitErr'),
    netRxSoftirqs: d('netRxSoftirqs'),
  };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
/** Median over rounds of a / b per core, each round's pair measured back to back (a shared machine drifts). */
function pairedRatio(rows, a, b) {
  const rs = [];
  for (const x of rows.filter((m) => m.path === a)) {
    const y = rows.find((m) => m.path === b && m.round === x.round && m.gen === x.gen);
    if (y && y.perCore > 0) rs.push(x.perCore / y.perCore);
  }
  return rs.length ? { median: median(rs), min: Math.min(...rs), max: Math.max(...rs) } : null;
}
const fmtRatio = (q) => (q ? `${q.median.toFixed(2)}x (${q.min.toFixed(2)}-${q.max.toFixed(2)})` : '-');
const mpps = (x) => (x / 1e6).toFixed(3);
const pct = (x) => `${(x * 100).toFixed(0)} %`;

async function hostPhase() {
  topo.create();
  await topo.startSink();
  topo.pinNapi();
  const results = { generators: [], paths: [] };

  if (!opt['skip-generators']) {
    // Which generator offers the most, and the steadiest, load: both into the kernel-forwarding set-up.
    for (let r = 0; r < ROUNDS; r++) {
      for (const gen of r % 2 ? ['afpacket', 'live'] : ['live', 'afpacket']) {
        const m = await measure('kernel-forwarding', gen, SECONDS, r);
        say(`generator ${gen} round ${r + 1}: offered ${mpps(m.offered)} Mpps, dispatcher took ${mpps(m.handled)} Mpps`);
        results.generators.push(m);
      }
    }
  }

  let xdpProblem = null;
  if (opt['skip-xdp']) xdpProblem = 'skipped (--skip-xdp)';
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? ['xdp', 'floors', 'kernel-forwarding'] : ['kernel-forwarding', 'floors', 'xdp'];
    for (const step of order) {
      if (step === 'kernel-forwarding') {
        await stopVsd();
        topo.pinNapi();
        const m = await measure('kernel-forwarding', 'live', SECONDS, r);
        say(`round ${r + 1} kernel-forwarding: ${mpps(m.perCore)} Mpps per core (${pct(m.cpu)} of it busy, ${mpps(m.rs)} Mpps at the real server)`);
        results.paths.push(m);
        continue;
      }
      if (step === 'floors') {
        // The floors: the same frames dropped by an XDP program on the dispatcher's veth (what receiving costs), and
        // sent on by one that only rewrites the MACs and redirects (what moving a frame veth to veth costs).
        await stopVsd();
        for (const [path, attach] of [
          ['xdp-drop', () => topo.xdpSink('dir', topo.if.d0)],
          ['xdp-redirect', () => topo.xdpRedirect()],
        ]) {
          const helper = await attach();
          topo.pinNapi();
          const m = await measure(path, 'live', SECONDS, r);
          await helper.stop();
          say(`round ${r + 1} ${path}: ${mpps(m.perCore)} Mpps per core (${pct(m.cpu)} of it busy, ${mpps(m.rs)} Mpps at the real server)`);
          results.paths.push(m);
        }
        continue;
      }
      if (xdpProblem) continue;
      try {
        await startVsd();
        topo.pinNapi();
      } catch (e) {
        xdpProblem = e.message.split('\n')[0];
        say(`xdp dataplane unavailable: ${e.message}`);
        await stopVsd().catch(() => {});
        continue;
      }
      for (const path of ['xdp-dr', 'xdp-tun']) {
        const m = await measure(path, 'live', SECONDS, r);
        say(
          `round ${r + 1} ${path}: ${mpps(m.perCore)} Mpps per core (${pct(m.cpu)} of it busy, ${mpps(m.rs)} Mpps at the real server, redirected ${m.xdpRedirect}, tx ${m.xdpTx})`,
        );
        results.paths.push(m);
      }
      results.xdpStatus = await vsd.status().catch((e) => ({ error: e.message }));
      await stopVsd();
    }
  }
  results.xdpProblem = xdpProblem;
  return results;
}

/** Host CPU seconds used so far by a process group (utime + stime + reaped children's, USER_HZ = 100). */
function groupCpuSeconds(pgid) {
  let ticks = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      /* gone */
    }
  }
  return ticks / 100;
}

async function umlPhase() {
  const rounds = Math.min(Math.max(Math.trunc(Number(opt['uml-rounds'])), 1), 30);
  const seconds = Math.min(Math.max(Number(opt['uml-seconds']), 0.5), 30);
  const script = `bash ${root}bench/xdp/uml-guest.sh ${tools.dir} ${seconds} ${rounds} ${FLOWS} ${PPA}`;
  // The guest's sender marks the start and end of each measured send in a host file (hostfs); at each mark the
  // UML process group's host CPU time is read: the guest's packets per host CPU second do not follow the host's
  // load the way its packets per second do. Not under /tmp (the guest has its own).
  const marksDir = mkdtempSync(join('/var/tmp', 'vsd-xdpbench-marks-'));
  const marks = join(marksDir, 'marks');
  writeFileSync(marks, '');
  let pgid = 0;
  let seen = 0;
  const samples = []; // { what, cpu }
  const poll = setInterval(() => {
    if (!pgid) return;
    const text = readFileSync(marks, 'utf8');
    if (text.length === seen) return;
    const lines = text.slice(seen).split('\n').filter(Boolean);
    seen = text.length;
    const cpu = groupCpuSeconds(pgid);
    for (const what of lines) samples.push({ what, cpu, shared: lines.length > 1 });
  }, 5);
  try {
    const r = await runInUml(script, {
      modules: ['veth', 'ip_vs', 'ip_vs_rr'],
      timeoutMs: 900_000,
      memMb: 768,
      signal: uml.signal,
      env: { XB_MARKS: marks },
      onSpawn: (pid) => (pgid = pid),
    });
    if (r.exitCode !== 0) throw new Error(`UML phase failed (exit ${r.exitCode}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    const rows = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    // k-th row = k-th start/end pair; a pair read in one poll (both marks at once) has no usable window.
    for (const [k, row] of rows.entries()) {
      const st = samples[2 * k];
      const en = samples[2 * k + 1];
      const ok = st?.what === 'start' && en?.what === 'end' && !st.shared && !en.shared && en.cpu > st.cpu;
      row.hostCpu = ok ? en.cpu - st.cpu : null;
      row.chain = row.rs;
      row.perCore = ok ? (row.rs * row.seconds) / row.hostCpu : 0;
      row.cpu = ok ? row.hostCpu / row.seconds : 0;
    }
    return rows;
  } finally {
    clearInterval(poll);
    rmSync(marksDir, { recursive: true, force: true });
  }
}

function summarize(rows) {
  const by = new Map();
  for (const m of rows) {
    const k = `${m.path}/${m.gen}`;
    if (!by.has(k)) by.set(k, []);
    by.get(k).push(m);
  }
  const out = new Map();
  for (const [k, ms] of by) {
    out.set(k, {
      n: ms.length,
      offered: median(ms.map((m) => m.offered)),
      handled: median(ms.map((m) => m.handled)),
      rs: median(ms.map((m) => m.rs)),
      cpu: median(ms.map((m) => m.cpu)),
      perCore: median(ms.map((m) => m.perCore)),
      chain: median(ms.map((m) => m.chain ?? m.rs)),
      chainMin: Math.min(...ms.map((m) => m.chain ?? m.rs)),
      chainMax: Math.max(...ms.map((m) => m.chain ?? m.rs)),
      perCoreMin: Math.min(...ms.map((m) => m.perCore)),
      perCoreMax: Math.max(...ms.map((m) => m.perCore)),
      offeredMin: Math.min(...ms.map((m) => m.offered)),
      offeredMax: Math.max(...ms.map((m) => m.offered)),
    });
  }
  return out;
}

function report(host, umlRows, umlProblem) {
  const lines = [];
  const cpu0 = cpus()[0]?.model ?? '?';
  lines.push(
    `Run with \`pnpm bench:xdp\` (bench/xdp/run.mjs) on ${new Date().toISOString().slice(0, 10)}: ${ROUNDS} round(s) of ${SECONDS} s per figure, ${FLOWS} UDP flows (${PPA} source ports per source address), 60-byte frames.`,
  );
  lines.push('');
  lines.push(
    `Machine: ${ncpu} x ${cpu0}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Linux ${release()}, node ${process.version}; UML guest ${umlKernelRelease() ?? '-'} (1 CPU, 768 MiB). Load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (a shared machine).`,
  );
  lines.push('');
  if (host.generators.length) {
    const g = summarize(host.generators);
    lines.push('Generators (into the kernel-forwarding set-up, one core each; median and min-max of the rounds):');
    lines.push('');
    lines.push('| generator | offered Mpps | min-max | taken by the dispatcher, Mpps |');
    lines.push('|---|---:|---:|---:|');
    for (const [name, label] of [
      ['live', "BPF_PROG_TEST_RUN, live frames (XDP_TX from the generator's veth)"],
      ['afpacket', 'AF_PACKET raw socket, sendmmsg x 64, qdisc bypass'],
    ]) {
      const s = g.get(`kernel-forwarding/${name}`);
      if (s) lines.push(`| ${label} | ${mpps(s.offered)} | ${mpps(s.offeredMin)}-${mpps(s.offeredMax)} | ${mpps(s.handled)} |`);
    }
    lines.push('');
  }
  const p = summarize(host.paths);
  lines.push("Host kernel, the dispatcher namespace's receive work on one pinned core (live-frame generator):");
  lines.push('');
  lines.push(
    '| path | packets per second per dispatcher core (min-max) | dispatcher core busy | at the real server, Mpps | offered, Mpps | per core / kernel forwarding, same round (min-max) |',
  );
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const [k, label] of [
    ['kernel-forwarding/live', 'kernel IPv4 forwarding (ip_forward=1, routes, no XDP)'],
    ['xdp-dr/live', 'vsd xdp dataplane, DR'],
    ['xdp-tun/live', 'vsd xdp dataplane, TUN (IPIP)'],
    ['xdp-redirect/live', "floor: XDP MAC rewrite + bpf_redirect to the real server's veth, no lookup"],
    ['xdp-drop/live', "floor: XDP_DROP on the dispatcher's veth (receive cost only)"],
  ]) {
    const s = p.get(k);
    if (!s) {
      lines.push(`| ${label} | not measured${host.xdpProblem ? `: ${host.xdpProblem}` : ''} | | | | |`);
      continue;
    }
    lines.push(
      `| ${label} | ${mpps(s.perCore)} M (${mpps(s.perCoreMin)}-${mpps(s.perCoreMax)}) | ${pct(s.cpu)} | ${mpps(s.rs)} | ${mpps(s.offered)} | ${fmtRatio(pairedRatio(host.paths, k.split('/')[0], 'kernel-forwarding'))} |`,
    );
  }
  lines.push('');
  let umlFwd;
  let umlIpvs;
  if (umlRows?.length) {
    const u = summarize(umlRows);
    umlFwd = u.get('kernel-forwarding/afpacket');
    umlIpvs = u.get('ipvs-dr/afpacket');
    lines.push(
      `User-mode-linux guest (IPVS is there; no XDP), AF_PACKET generator; generator, dispatcher and real server all on the guest's one CPU; ${umlRows.length / 2} rounds of ${opt['uml-seconds']} s. Per host core = packets at the real server / host CPU seconds of the whole UML process group during the send:`,
    );
    lines.push('');
    lines.push(
      '| path | packets per host core-second, whole chain (min-max) | guest CPU share of a host core | packets per second at the real server (min-max) | / kernel forwarding per host core, same round (min-max) |',
    );
    lines.push('|---|---:|---:|---:|---:|');
    for (const [s, path, label] of [
      [umlFwd, 'kernel-forwarding', 'kernel IPv4 forwarding'],
      [umlIpvs, 'ipvs-dr', 'IPVS DR (ipvsadm -g, rr)'],
    ]) {
      if (s)
        lines.push(
          `| ${label} | ${mpps(s.perCore)} M (${mpps(s.perCoreMin)}-${mpps(s.perCoreMax)}) | ${pct(s.cpu)} | ${mpps(s.chain)} M (${mpps(s.chainMin)}-${mpps(s.chainMax)}) | ${fmtRatio(pairedRatio(umlRows, path, 'kernel-forwarding'))} |`,
        );
    }
    lines.push('');
  } else if (umlProblem) {
    lines.push(`User-mode-linux phase not measured: ${umlProblem}`);
    lines.push('');
  }
  const qa = pairedRatio(host.paths, 'xdp-dr', 'kernel-forwarding');
  const qb = umlRows?.length ? pairedRatio(umlRows, 'ipvs-dr', 'kernel-forwarding') : null;
  if (qa && qb) {
    const a = qa.median;
    const b = qb.median;
    lines.push(
      `Estimate: xdp DR / IPVS DR ~ (xdp DR / forwarding on the host) / (IPVS DR / forwarding in UML) = ${a.toFixed(2)} / ${b.toFixed(2)} = **${(a / b).toFixed(2)}x** per core. ` +
        "A product of ratios from two different kernels (the host's, native, and UML 6.1, run as one host process, whose absolute figures are not comparable), assuming IPVS costs the same relative to forwarding on both, which nothing here checks. " +
        "In UML the generator's and the real server's work are in both figures, which pulls the IPVS/forwarding ratio toward 1, so this estimate understates xdp's lead over IPVS rather than overstating it.",
    );
    lines.push('');
  }
  return lines.join('\n');
}

let host = { generators: [], paths: [], xdpProblem: 'skipped (--skip-host)' };
let umlRows = null;
let umlProblem = null;
if (!opt['skip-host']) {
  try {
    host = await hostPhase();
  } catch (e) {
    // After Ctrl-C the namespaces are gone under the measurement: the error that follows is expected.
    if (interrupted) process.exit(130);
    throw e;
  } finally {
    await stopVsd().catch(() => {});
    cleanup();
  }
}
if (!opt['skip-uml'] && !uml.signal.aborted) {
  try {
    umlRows = await umlPhase();
  } catch (e) {
    if (interrupted) process.exit(130);
    umlProblem = e.message.split('\n')[0];
    say(`UML phase: ${e.message}`);
  }
} else umlProblem = 'skipped (--skip-uml)';
const text = report(host, umlRows, umlProblem);
process.stdout.write(`${text}\n`);
// Raw figures of the last run (bench/**/results/ is not committed).
mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
writeFileSync(fileURLToPath(new URL('./results/last.json', import.meta.url)), JSON.stringify({ host, uml: umlRows }, null, 1));
if (opt.write) {
  const readme = fileURLToPath(new URL('../README.md', import.meta.url));
  const md = readFileSync(readme, 'utf8');
  const begin = '<!-- bench:xdp begin -->';
  const end = '<!-- bench:xdp end -->';
  const i = md.indexOf(begin);
  const j = md.indexOf(end);
  if (i < 0 || j < i) throw new Error(`bench/README.md has no ${begin} ... ${end} section to rewrite`);
  writeFileSync(readme, `${md.slice(0, i + begin.length)}\n${text}\n${md.slice(j)}`);
  say('bench/README.md rewritten');
}
