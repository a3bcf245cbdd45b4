// The host half of bench/xdp: three namespaces made for one run and a way to read what each hop counted.
//
//   <p>-gen  <p>g0 ==veth== <p>d0  <p>-dir  <p>d1 ==veth== <p>r0  <p>-rs
//   10.201.0.2/24           10.201.0.1/24   10.201.1.1/24         10.201.1.2/24
//
// Sources 10.202.0.0/16 are routed back to gen; the VIPs are routed to the real server (kernel forwarding) or
// taken by the XDP program on <p>d0. <p>d0's receive work runs in its own NAPI thread pinned to the dispatcher CPU;
// the generator and <p>r0's NAPI thread share the other CPU, so the dispatcher's cost is what one core does.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

export const NAPI_NICE = -10;

export const NET = {
  gen: '10.201.0.2',
  dirFront: '10.201.0.1',
  dirBack: '10.201.1.1',
  rip: '10.201.1.2',
  srcBase: '10.202.0.1',
  sources: '10.202.0.0/16',
  vipDr: '10.201.9.1',
  vipTun: '10.201.9.2',
  port: 80,
};

function sh(args, opts = {}) {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: opts.timeoutMs ?? 20_000 });
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${args.join(' ')} failed: ${r.error?.message ?? r.stderr.trim()}`);
  return (r.stdout ?? '').trim();
}

/** Kernel threads (and other tasks) whose comm starts with prefix: [{ pid, comm }]. */
function tasksNamed(prefix) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (comm.startsWith(prefix)) out.push({ pid: Number(d), comm });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU time of a task in ns (schedstat; stat's ticks where schedstat is missing). */
export function taskCpuNs(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 1e7; // utime + stime, USER_HZ = 100
  }
}

/** NET_RX softirqs run so far on one CPU: threaded NAPI raises none, so a count here is receive work outside it. */
export function netRxSoftirqs(cpu) {
  const line = readFileSync('/proc/softirqs', 'utf8')
    .split('\n')
    .find((l) => l.trim().startsWith('NET_RX:'));
  return Number(line?.trim().split(/\s+/)[cpu + 1] ?? NaN);
}

export class Topology {
  constructor({ prefix, tools, dispatcherCpu, otherCpu, logger }) {
    this.p = prefix;
    this.tools = tools;
    this.dispatcherCpu = dispatcherCpu;
    this.otherCpu = otherCpu;
    this.log = logger ?? (() => {});
    this.ns = { gen: `${prefix}-gen`, dir: `${prefix}-dir`, rs: `${prefix}-rs` };
    this.if = { g0: `${prefix}g0`, d0: `${prefix}d0`, d1: `${prefix}d1`, r0: `${prefix}r0` };
    this.sink = null;
    this.sinks = new Set();
    this.created = false;
  }

  exec(ns, args, opts) {
    return sh(['ip', 'netns', 'exec', this.ns[ns], ...args], opts);
  }

  create() {
    const { ns, if: i } = this;
    this.created = true;
    for (const n of Object.values(ns)) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', 'link', 'add', i.g0, 'netns', ns.gen, 'type', 'veth', 'peer', 'name', i.d0, 'netns', ns.dir]);
    sh(['ip', 'link', 'add', i.d1, 'netns', ns.dir, 'type', 'veth', 'peer', 'name', i.r0, 'netns', ns.rs]);
    const addr = [
      [ns.gen, i.g0, `${NET.gen}/24`],
      [ns.dir, i.d0, `${NET.dirFront}/24`],
      [ns.dir, i.d1, `${NET.dirBack}/24`],
      [ns.rs, i.r0, `${NET.rip}/24`],
    ];
    for (const [n, dev, a] of addr) {
      sh(['ip', '-n', n, 'addr', 'add', a, 'dev', dev]);
      sh(['ip', '-n', n, 'link', 'set', dev, 'up']);
    }
    this.exec('dir', [
      'sysctl',
      '-qw',
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.rp_filter=0',
      `net.ipv4.conf.${i.d0}.rp_filter=0`,
      'net.ipv4.conf.all.send_redirects=0',
      `net.ipv4.conf.${i.d1}.send_redirects=0`,
    ]);
    sh(['ip', '-n', ns.dir, 'route', 'add', NET.sources, 'via', NET.gen]);
    for (const vip of [NET.vipDr, NET.vipTun]) sh(['ip', '-n', ns.dir, 'route', 'add', `${vip}/32`, 'via', NET.rip]);
    this.mac = {
      g0: this.exec('gen', ['cat', `/sys/class/net/${i.g0}/address`]),
      d0: this.exec('dir', ['cat', `/sys/class/net/${i.d0}/address`]),
      d1: this.exec('dir', ['cat', `/sys/class/net/${i.d1}/address`]),
      r0: this.exec('rs', ['cat', `/sys/class/net/${i.r0}/address`]),
    };
    // Static neighbours: the real server's sink drops everything but ARP, and no hop should wait on resolution.
    sh(['ip', '-n', ns.dir, 'neigh', 'replace', NET.rip, 'lladdr', this.mac.r0, 'dev', i.d1, 'nud', 'permanent']);
    sh(['ip', '-n', ns.dir, 'neigh', 'replace', NET.gen, 'lladdr', this.mac.g0, 'dev', i.d0, 'nud', 'permanent']);
    sh(['ip', '-n', ns.rs, 'neigh', 'replace', NET.dirBack, 'lladdr', this.mac.d1, 'dev', i.r0, 'nud', 'permanent']);
    // GRO on the receiving veths puts them in NAPI mode without an XDP program (as a NIC driver's
    // napi_gro_receive); one queue each (veth's default), RPS off.
    // And TSO off on the sending veths: veth_xmit hands an skb to the peer's NAPI ring only then (else netif_rx
    // runs the peer's receive on the sender's CPU: a forwarded packet's real-server half on the dispatcher's core).
    this.exec('dir', [this.tools.pktsend, 'gro', i.d0, 'on']);
    this.exec('rs', [this.tools.pktsend, 'gro', i.r0, 'on']);
    this.exec('gen', [this.tools.pktsend, 'tso', i.g0, 'off']);
    this.exec('dir', [this.tools.pktsend, 'tso', i.d1, 'off']);
    this.exec('dir', ['sh', '-c', `echo 0 > /sys/class/net/${i.d0}/queues/rx-0/rps_cpus`]);
    this.exec('rs', ['sh', '-c', `echo 0 > /sys/class/net/${i.r0}/queues/rx-0/rps_cpus`]);
  }

  /** Threaded NAPI on d0 (dispatcher CPU) and r0 (the other CPU); again after anything that re-creates NAPI. */
  pinNapi() {
    this.exec('dir', ['sh', '-c', `echo 1 > /sys/class/net/${this.if.d0}/threaded`]);
    this.exec('rs', ['sh', '-c', `echo 1 > /sys/class/net/${this.if.r0}/threaded`]);
    const d0 = tasksNamed(`napi/${this.if.d0}`);
    const r0 = tasksNamed(`napi/${this.if.r0}`);
    if (d0.length !== 1) throw new Error(`expected one NAPI thread for ${this.if.d0}, found ${d0.length}`);
    // Nice -10: on a shared machine the NAPI threads would otherwise get a fair share of their CPU among whatever
    // else runs there (the dispatcher's then shows as the load it had to yield to); the generator stays at 0, so the
    // real server's thread keeps up with what the dispatcher forwards.
    for (const t of d0) {
      sh(['taskset', '-p', '-c', String(this.dispatcherCpu), String(t.pid)]);
      sh(['renice', '-n', String(NAPI_NICE), '-p', String(t.pid)]);
    }
    for (const t of r0) {
      sh(['taskset', '-p', '-c', String(this.otherCpu), String(t.pid)]);
      sh(['renice', '-n', String(NAPI_NICE), '-p', String(t.pid)]);
    }
    this.napiPid = d0[0].pid;
    return this.napiPid;
  }

  /** xdp_sink on one of the run's interfaces: { count(), stop() }. */
  xdpSink(ns, dev) {
    return this.xdpHelper(ns, dev, ['sink', this.tools.bpfObject, dev]);
  }

  /** xdp_fwd on the dispatcher's d0: every frame to the real server's MAC out of d1, no lookup. */
  xdpRedirect() {
    return this.xdpHelper('dir', this.if.d0, ['redirect', this.tools.bpfObject, this.if.d0, this.if.d1, this.mac.r0, this.mac.d1]);
  }

  async xdpHelper(ns, dev, args) {
    const child = spawn('ip', ['netns', 'exec', this.ns[ns], this.tools.xdptool, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const lines = createInterface({ input: child.stdout });
    const waiting = [];
    lines.on('line', (l) => waiting.shift()?.(l));
    const next = (ms) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`xdp sink on ${dev}: no answer within ${ms} ms ${err}`)), ms);
        waiting.push((l) => {
          clearTimeout(t);
          resolve(l);
        });
      });
    const ready = await next(10_000);
    if (ready !== 'ready') throw new Error(`xdp sink on ${dev} did not start: ${ready} ${err}`);
    const sink = {
      child,
      count: async () => {
        child.stdin.write('r\n');
        return Number(await next(5_000));
      },
      // EOF on stdin detaches the program; bounded wait for the helper to go.
      stop: () =>
        new Promise((resolve) => {
          const t = setTimeout(() => (child.kill('SIGKILL'), resolve()), 5_000);
          child.once('exit', () => (clearTimeout(t), resolve()));
          child.stdin.end();
        }),
    };
    this.sinks.add(sink);
    child.once('exit', () => this.sinks.delete(sink));
    return sink;
  }

  async startSink() {
    this.sink = await this.xdpSink('rs', this.if.r0);
  }

  stat(ns, dev, name) {
    return Number(this.exec(ns, ['cat', `/sys/class/net/${dev}/statistics/${name}`]));
  }

  ethStats(ns, dev) {
    return JSON.parse(this.exec(ns, [this.tools.pktsend, 'stats', dev]));
  }

  /** Every counter a measurement compares, read at one moment (as close as a few process starts allow). */
  async counters() {
    const d0 = this.ethStats('dir', this.if.d0);
    const g0 = this.ethStats('gen', this.if.g0);
    return {
      d0Rx: this.stat('dir', this.if.d0, 'rx_packets'),
      d0RxDropped: this.stat('dir', this.if.d0, 'rx_dropped'),
      d0XdpRedirect: d0.rx_queue_0_xdp_redirect ?? 0,
      d0XdpTx: d0.rx_queue_0_xdp_tx ?? 0,
      d0XdpDrops: d0.rx_queue_0_xdp_drops ?? 0,
      d1Tx: this.stat('dir', this.if.d1, 'tx_packets'),
      g0XmitErr: g0.tx_queue_0_xdp_xmit_errors ?? 0,
      rsSink: this.sink ? await this.sink.count() : 0,
      napiNs: taskCpuNs(this.napiPid),
      netRxSoftirqs: netRxSoftirqs(this.dispatcherCpu),
      at: process.hrtime.bigint(),
    };
  }

  /** Runs the generator in gen on the other CPU; resolves with its JSON line ({ sent, seconds }). */
  generate(kind, { dst, flows, portsPerAddr, seconds, maxPackets }) {
    const common = [
      this.if.g0,
      this.mac.d0,
      this.mac.g0,
      NET.srcBase,
      dst,
      String(NET.port),
      String(flows),
      String(portsPerAddr),
      String(seconds),
      String(maxPackets),
    ];
    const argv = kind === 'live' ? [this.tools.xdptool, 'live', this.tools.bpfObject, ...common] : [this.tools.pktsend, 'send', ...common];
    // Nice 10: the real server's NAPI thread on the same CPU goes first; the generator still offers far more than
    // the dispatcher takes.
    const out = sh(['ip', 'netns', 'exec', this.ns.gen, 'nice', '-n', '10', 'taskset', '-c', String(this.otherCpu), ...argv], {
      timeoutMs: (seconds + 30) * 1000,
    });
    return JSON.parse(out.split('\n').pop());
  }

  /** Idempotent; synchronous so it can run from a signal handler or process 'exit'. */
  destroy() {
    for (const sink of this.sinks) {
      try {
        sink.child.stdin.end();
        sink.child.kill('SIGTERM');
      } catch {
        /* gone */
      }
    }
    this.sinks.clear();
    this.sink = null;
    if (!this.created) return;
    for (const n of Object.values(this.ns)) sh(['ip', 'netns', 'del', n], { allowFail: true });
    this.created = false;
  }
}
