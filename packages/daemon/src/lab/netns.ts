/**
 * A lab of hosts as network namespaces, for the namespace test tier and `pnpm lab`.
 *
 * Every host gets its own namespace with `lo` and an `eth0` veth whose other end sits on a bridge inside a separate
 * "switch" namespace, so nothing touches the host's own interfaces. Names carry a per-run prefix, processes started
 * in hosts are tracked, and `destroy()` (also run on exit and on SIGINT/SIGTERM) kills them and deletes every namespace.
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { promisify } from 'node:util';
import { invariant, LabError } from '@vsd/core';

const run = promisify(execFile);

export interface HostSpec {
  name: string;
  /** Address with prefix on eth0, e.g. "10.77.0.11/24". */
  address: string;
  /** Default gateway (NAT real servers route through the dispatcher). */
  gateway?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface Host {
  readonly name: string;
  /** The namespace name (`ip netns exec <ns>`). */
  readonly ns: string;
  /** Address without prefix. */
  readonly ip: string;
  readonly mac: string;
  exec(cmd: string, args?: string[], opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /** Start a long-running process in this host; it is killed by `lab.destroy()`. */
  spawn(cmd: string, args?: string[], opts?: SpawnOptions): ChildProcess;
}

export interface Lab {
  readonly prefix: string;
  readonly hosts: Record<string, Host>;
  host(name: string): Host;
  /** Kill every process started in the lab and delete all its namespaces. Safe to call twice. */
  destroy(): Promise<void>;
}

/** The seed's NAT-cluster hosts on one segment. */
export const SEED_HOSTS: HostSpec[] = [
  { name: 'client', address: '10.77.0.2/24' },
  { name: 'lvs1', address: '10.77.0.11/24' },
  { name: 'lvs2', address: '10.77.0.12/24' },
  { name: 'web1', address: '10.77.0.21/24' },
  { name: 'web2', address: '10.77.0.22/24' },
];

const LAB_TAG = 'vsdt';
const live = new Set<Lab>();
let hooksInstalled = false;

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new LabError('the namespace tier needs root (ip netns); run the tests as root');
}

/** Remove namespaces left behind by a run that was killed with SIGKILL. */
export function removeStaleLabs(): void {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0];
    if (!ns?.startsWith(`${LAB_TAG}`)) continue;
    const pid = Number(ns.split('-')[0]!.slice(LAB_TAG.length));
    if (pid && isAlive(pid) && pid !== process.pid) continue;
    killNamespaceProcesses(ns);
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      /* already gone */
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killNamespaceProcesses(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split(/\s+/)
      .filter(Boolean);
    for (const p of pids) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  } catch {
    /* namespace gone */
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const syncCleanup = (): void => {
    for (const lab of live) destroySync(lab);
  };
  process.on('exit', syncCleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      syncCleanup();
      process.exit(130);
    });
}

const labNamespaces = new WeakMap<Lab, { nss: string[]; procs: Set<ChildProcess> }>();

function destroySync(lab: Lab): void {
  const inner = labNamespaces.get(lab);
  if (!inner) return;
  for (const p of inner.procs) killTree(p, 'SIGKILL');
  for (const ns of inner.nss) {
    killNamespaceProcesses(ns);
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* gone */
    }
  }
  live.delete(lab);
  labNamespaces.delete(lab);
}

function killTree(p: ChildProcess, signal: NodeJS.Signals): void {
  if (p.exitCode !== null || p.signalCode !== null || !p.pid) return;
  try {
    process.kill(-p.pid, signal);
  } catch {
    try {
      p.kill(signal);
    } catch {
      /* gone */
    }
  }
}

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** Build the lab. Hosts get MACs 02:77:00:00:00:NN in the order given. */
export async function createLab(specs: HostSpec[] = SEED_HOSTS, options: { sysctls?: Record<string, string> } = {}): Promise<Lab> {
  requireRoot();
  installHooks();
  removeStaleLabs();
  const prefix = `${LAB_TAG}${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const sw = `${prefix}-sw`;
  const nss: string[] = [sw];
  const procs = new Set<ChildProcess>();
  const hosts: Record<string, Host> = {};
  const lab: Lab = {
    prefix,
    hosts,
    host(name) {
      const h = hosts[name];
      invariant(h, () => `no host ${name} in lab ${prefix}`);
      return h;
    },
    async destroy() {
      for (const p of procs) killTree(p, 'SIGTERM');
      await Promise.all([...procs].map((p) => waitExit(p, 2000)));
      destroySync(lab);
    },
  };
  labNamespaces.set(lab, { nss, procs });
  live.add(lab);
  try {
    await ip('netns', 'add', sw);
    await ip('-n', sw, 'link', 'set', 'lo', 'up');
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    let i = 0;
    for (const spec of specs) {
      i++;
      const ns = `${prefix}-${spec.name}`;
      nss.push(ns);
      const mac = `02:77:00:00:00:${i.toString(16).padStart(2, '0')}`;
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', ns, 'link', 'add', 'eth0', 'address', mac, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', sw);
      await ip('-n', sw, 'link', 'set', `p${i}`, 'master', 'br0', 'up');
      await ip('-n', ns, 'addr', 'add', spec.address, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      if (spec.gateway) await ip('-n', ns, 'route', 'add', 'default', 'via', spec.gateway);
      for (const [k, v] of Object.entries(options.sysctls ?? {})) await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${k}=${v}`]);
      hosts[spec.name] = makeHost(spec, ns, mac, procs);
    }
  } catch (err) {
    destroySync(lab);
    throw err;
  }
  return lab;
}

function makeHost(spec: HostSpec, ns: string, mac: string, procs: Set<ChildProcess>): Host {
  return {
    name: spec.name,
    ns,
    ip: spec.address.split('/')[0]!,
    mac,
    exec(cmd, args = [], opts = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          'ip',
          ['netns', 'exec', ns, cmd, ...args],
          { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
          (err, stdout, stderr) => {
            const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
            resolve({ stdout, stderr, code });
          },
        );
        if (opts.input !== undefined) child.stdin?.end(opts.input);
      });
    },
    spawn(cmd, args = [], opts = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true });
      procs.add(child);
      child.once('exit', () => procs.delete(child));
      return child;
    },
  };
}

export function waitExit(p: ChildProcess, timeoutMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      killTree(p, 'SIGKILL');
      resolve();
    }, timeoutMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Poll `probe` until it returns a truthy value or `timeoutMs` passes (then throw with `what`). */
export async function waitFor<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new LabError(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`, { what, timeoutMs });
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Collect a child's stdout as pino JSON lines (non-JSON lines are kept as { msg }). */
export function jsonLines(child: ChildProcess): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ msg: line });
      }
    }
  });
  return lines;
}
