/**
 * Shared pieces of the agent namespace tests: a real vsd daemon as the dispatcher, vsd-agents whose watched
 * mounts live in a private mount namespace (never the host's), and a FUSE filesystem that never answers.
 *
 * Mount namespaces: every `ip netns exec` gets a fresh mount namespace, so a test starts one long-lived holder per
 * real server (`sleep` under `ip netns exec`, its mounts slave to the host and never propagated back) and enters
 * it with `nsenter -t HOLDER -m [-n]` both to change mounts and to run the agent, which then sees those mounts.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createControlClient, type ControlClient } from '@vsd/core';
import type { Host } from '../lib/netns.js';
import { jsonLines, waitFor } from '../lib/netns.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VSD_BIN = join(ROOT, 'packages/daemon/bin/vsd.js');
export const AGENT_BIN = join(ROOT, 'packages/agent/bin/vsd-agent.js');
export const KEY = 'netns-agent-key-0123456789abcdef';
/** The flags of vsd-agent's shebang: how it runs in production (RSS under 60 MB). */
export const AGENT_NODE_FLAGS = ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1', '--max-old-space-size=24'];

/** Arguments for `node` to run vsd-agent as its shebang would. */
export function agentArgs(...args: string[]): string[] {
  return [...AGENT_NODE_FLAGS, AGENT_BIN, ...args];
}

const own = new Set<ChildProcess>();

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Run a command inside a holder's mount namespace; throws on failure. */
export async function inMountNs(holder: number, cmd: string, args: string[]): Promise<string> {
  const r = await run('nsenter', ['-t', String(holder), '-m', '--', cmd, ...args]);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A process that owns a private mount namespace inside the host's network namespace. */
export async function mountNamespace(host: Host): Promise<number> {
  const holder = host.spawn('sleep', ['3600']);
  await waitFor('mount namespace holder', async () => {
    const mine = await run('readlink', [`/proc/${holder.pid}/ns/mnt`]);
    const hostNs = await run('readlink', ['/proc/self/ns/mnt']);
    return mine.code === 0 && mine.stdout !== hostNs.stdout;
  });
  return holder.pid!;
}

/** Spawn in the holder's mount and network namespaces; killed by stopAll() and by the lab (it is in the netns). */
export function spawnIn(holder: number, cmd: string, args: string[]): ChildProcess {
  const child = spawn('nsenter', ['-t', String(holder), '-m', '-n', '--', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  own.add(child);
  child.once('exit', () => own.delete(child));
  return child;
}

export function stopAll(): void {
  for (const c of own) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  own.clear();
}

const FUSE_HANG = `
const fs = require('fs'); const cp = require('child_process');
const fd = fs.openSync('/dev/fuse', 'r+');
const r = cp.spawnSync('mount', ['-i', '-t', 'fuse.vsdhang', '-o', 'fd=3,rootmode=40000,user_id=0,group_id=0', 'vsdhang', process.argv[1]], { stdio: ['ignore', 'inherit', 'inherit', fd] });
process.stdout.write('mounted ' + r.status + '\\n');
if (r.status !== 0) process.exit(1);
setInterval(() => {}, 1 << 30);
`;

/**
 * Mount, over `dir`, a FUSE filesystem whose server holds /dev/fuse and never answers (not even FUSE_INIT):
 * every stat or read there blocks in the kernel, as with a dead NFS server. Killing the returned process
 * aborts the connection (accesses then fail with ENOTCONN until `umount -l`).
 */
export async function mountHungFuse(holder: number, dir: string): Promise<ChildProcess> {
  const child = spawnIn(holder, process.execPath, ['-e', FUSE_HANG, dir]);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor(
    'hung FUSE mount',
    () => out.includes('mounted 0') || (child.exitCode !== null && Promise.reject(new Error(`FUSE helper exited: ${out}`))),
    15_000,
  );
  return child;
}

export interface Dispatcher {
  proc: ChildProcess;
  client: ControlClient;
  logs: Array<Record<string, unknown>>;
}

export async function startDispatcher(host: Host, dir: string, yaml: string, dataplane = 'none'): Promise<Dispatcher> {
  const cfg = join(dir, 'vsd.yaml');
  const socket = join(dir, 'vsd.sock');
  writeFileSync(cfg, yaml);
  const proc = host.spawn(process.execPath, [
    VSD_BIN,
    '--config',
    cfg,
    '--socket',
    socket,
    '--state',
    'none',
    '--dataplane',
    dataplane,
    '--log-level',
    'debug',
  ]);
  const logs = jsonLines(proc);
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await waitFor(
    'vsd ready',
    () => logs.some((l) => l.msg === 'vsd ready') || (proc.exitCode !== null && Promise.reject(new Error(`vsd exited: ${err}`))),
    30_000,
  );
  return { proc, client: createControlClient({ socket }), logs };
}

export interface AgentOptions {
  name: string;
  dispatchers: string[];
  keyFile: string;
  mounts?: unknown[];
  probe?: unknown;
  interval?: number;
  procRoot?: string;
  agentCheck?: string;
}

export function writeAgentConfig(dir: string, o: AgentOptions): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${o.name}.yaml`);
  const doc = {
    name: o.name,
    dispatchers: o.dispatchers,
    key_file: o.keyFile,
    report_interval: o.interval ?? 0.2,
    mounts: o.mounts ?? [],
    ...(o.probe ? { probe: o.probe } : {}),
    ...(o.procRoot ? { proc_root: o.procRoot } : {}),
    ...(o.agentCheck ? { agent_check: { listen: o.agentCheck } } : {}),
    log_level: 'debug',
  };
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

export interface RealServerView {
  key: string;
  weight: number;
  effectiveWeight: number;
  sources: Record<string, { factor: number; reason?: string }>;
}

export async function realServer(client: ControlClient, rsKey: string): Promise<RealServerView> {
  const doc = await client.get<{ services: Array<{ realServers: RealServerView[] }> }>('/v1/realservers');
  const rs = doc.services.flatMap((s) => s.realServers).find((r) => r.key === rsKey);
  if (!rs) throw new Error(`no real server ${rsKey}`);
  return rs;
}

/** Fake /proc for the load signals: only loadavg (the rest reads as idle). */
export function fakeProc(dir: string, loadavg: number): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'loadavg'), `${loadavg.toFixed(2)} 0.00 0.00 1/100 1\n`);
  return dir;
}
