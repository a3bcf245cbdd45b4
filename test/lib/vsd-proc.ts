/**
 * Run the real binaries (vsd, vsadm, vsctl, vsd-agent) in lab hosts: configs written to a per-run temp dir,
 * control sockets polled until they answer, logs collected as JSON lines.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jsonLines, waitFor, type ExecResult, type Host } from './netns.js';

export const REPO = resolve(new URL('../..', import.meta.url).pathname);
export const BIN = {
  vsd: join(REPO, 'packages/daemon/bin/vsd.js'),
  vsadm: join(REPO, 'packages/cli/bin/vsadm.js'),
  vsctl: join(REPO, 'packages/cli/bin/vsctl.js'),
  agent: join(REPO, 'packages/agent/bin/vsd-agent.js'),
};

export function requireBuild(): void {
  if (!existsSync(join(REPO, 'packages/daemon/dist/bin/vsd.js'))) throw new Error('run `pnpm build` before the namespace tier');
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `vsd-${tag}-`));
}

export interface VsdProcess {
  host: Host;
  proc: ChildProcess;
  socket: string;
  state: string;
  configPath: string;
  logs: Array<Record<string, unknown>>;
  /** GET a control API path through the socket (run inside the host, as vsctl would). */
  api<T = unknown>(path: string, method?: 'GET' | 'POST', body?: unknown): Promise<T>;
  vsadm(...args: string[]): Promise<ExecResult>;
  vsctl(...args: string[]): Promise<ExecResult>;
}

export interface StartVsdOptions {
  dir: string;
  name: string;
  config: Record<string, unknown>;
  dataplane?: 'proxy' | 'ipvs' | 'xdp' | 'none';
  /** Keep the state file of an earlier run (restart), or start from an empty one. */
  freshState?: boolean;
  extraArgs?: string[];
}

export async function startVsd(host: Host, o: StartVsdOptions): Promise<VsdProcess> {
  const configPath = join(o.dir, `${o.name}.yaml`);
  const socket = join(o.dir, `${o.name}.sock`);
  const state = join(o.dir, `${o.name}.state.json`);
  // JSON is YAML: no YAML writer needed in the tests.
  writeFileSync(configPath, JSON.stringify(o.config, null, 2));
  const proc = host.spawn(process.execPath, [
    BIN.vsd,
    '--config',
    configPath,
    '--socket',
    socket,
    '--state',
    state,
    '--dataplane',
    o.dataplane ?? 'proxy',
    ...(o.extraArgs ?? []),
  ]);
  const logs = jsonLines(proc);
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const v: VsdProcess = {
    host,
    proc,
    socket,
    state,
    configPath,
    logs,
    async api<T>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<T> {
      const args = ['-s', '--max-time', '3', '--unix-socket', socket, '-X', method, `http://vsd${path}`];
      if (body !== undefined) args.push('-H', 'content-type: application/json', '--data', JSON.stringify(body));
      const r = await host.exec('curl', args);
      if (r.code !== 0) throw new Error(`curl ${path} exited ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    vsadm: (...args) => host.exec(process.execPath, [BIN.vsadm, '--socket', socket, ...args]),
    vsctl: (...args) => host.exec(process.execPath, [BIN.vsctl, '--socket', socket, ...args]),
  };
  await waitFor(
    `vsd ${o.name} to answer on ${socket}`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`vsd ${o.name} exited ${proc.exitCode}: ${stderr}${JSON.stringify(logs.slice(-5))}`);
      await v.api('/v1/state');
      return true;
    },
    15_000,
    50,
  );
  return v;
}

/** A tiny HTTP server in a lab host answering `body` (the seed's test pages). */
export function startWebServer(host: Host, port: number, body: string): ChildProcess {
  const code = `require('http').createServer((q,s)=>{s.setHeader('connection','close');s.end(${JSON.stringify(body + '\n')})}).listen(${port},'0.0.0.0',()=>console.log('ready'))`;
  return host.spawn(process.execPath, ['-e', code]);
}

export async function waitReady(proc: ChildProcess, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} not ready`)), 10_000);
    proc.stdout?.on('data', (c: Buffer) => {
      if (c.toString().includes('ready')) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`${what} exited ${code}`)));
  });
}

export function writeFile(dir: string, name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}
