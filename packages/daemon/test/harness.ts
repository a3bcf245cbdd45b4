/**
 * Runs the built vsd binary (pnpm build first) in a temp dir and reads its pino JSON log lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VSD_BIN = fileURLToPath(new URL('../bin/vsd.js', import.meta.url));
export const VSCTL_BIN = fileURLToPath(new URL('../../cli/bin/vsctl.js', import.meta.url));

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'vsd-cli-'));
  file(name: string, content?: string): string {
    const p = join(this.path, name);
    if (content !== undefined) writeFileSync(p, content);
    return p;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

export class VsdProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  private readonly waiters: Array<() => void> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 0, msg: line });
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, signal });
      }),
    );
  }

  /** The first log line (from `from` on) whose msg matches; rejects when vsd exits first or after `ms`. */
  async waitForLog(pattern: RegExp, ms = 15_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.logs.slice(from).find((l) => pattern.test(l.msg));
      if (hit) return hit;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`vsd exited (${this.child.exitCode ?? this.child.signalCode}) before logging ${pattern}: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no log line ${pattern} within ${ms} ms; got: ${this.logs.map((l) => l.msg).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

export function spawnVsd(args: string[], env: Record<string, string> = {}): VsdProcess {
  return new VsdProcess(spawn(process.execPath, [VSD_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
}

/** Start vsd with the none dataplane in `dir` and wait until it is ready. */
export async function startVsd(dir: TempDir, config: string | null, extra: string[] = []): Promise<{ vsd: VsdProcess; socket: string; state: string }> {
  const socket = join(dir.path, 'vsd.sock');
  const state = join(dir.path, 'state.json');
  const configPath = config === null ? join(dir.path, 'absent.yaml') : dir.file('vsd.yaml', config);
  const vsd = spawnVsd(['--config', configPath, '--socket', socket, '--state', state, '--dataplane', 'none', ...extra]);
  await vsd.waitForLog(/^vsd ready$/);
  return { vsd, socket, state };
}

export function runVsctl(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VSCTL_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export const ONE_SERVICE = `
virtual_servers:
  - address: 10.0.0.1:80
    lb_algo: rr
    real_servers:
      - address: 10.0.1.1:8080
      - address: 10.0.1.2:8080
        weight: 3
`;

/** Listen on an ephemeral loopback port; resolves with the port. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** A loopback port free when asked, for config that needs a fixed one (a VIP, a listener). */
export async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

/** A loopback real server answering every connection with `name` and closing; its close goes into `cleanups`. */
export async function realServer(name: string, cleanups: Array<() => void>): Promise<number> {
  const s = createServer((c) => {
    c.on('error', () => undefined);
    c.end(`${name}\n`);
  });
  const port = await listen(s);
  cleanups.push(() => s.close());
  return port;
}

/** One connection to a loopback VIP, read until the real server closes it. */
export function throughVip(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    let data = '';
    c.on('data', (d) => (data += d.toString()));
    c.on('end', () => resolve(data));
    c.on('error', reject);
    c.setTimeout(5000, () => c.destroy(new Error('VIP connection timed out')));
  });
}
