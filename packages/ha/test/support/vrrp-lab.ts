/**
 * Helpers for the VRRP namespace tests (test/netns/vrrp-*.test.ts): start vrrp-run and keepalived in lab hosts,
 * read their state from their logs, and look at VIPs and neighbour tables. Not a unit test file.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonLines, waitExit, waitFor, type Host } from '../../../../test/lib/netns.js';

export const RUNNER = fileURLToPath(new URL('../../dist/bin/vrrp-run.js', import.meta.url));

export const workDir = (): string => mkdtempSync(join(tmpdir(), 'vsd-vrrp-'));

export interface Runner {
  host: Host;
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** Latest state from the runner's log. */
  state(): string | undefined;
  waitState(state: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** The log line of the last transition into `state`. */
  entered(state: string): Record<string, unknown> | undefined;
  lastStatus(): Record<string, any> | undefined;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startRunner(host: Host, dir: string, ha: Record<string, unknown>): Runner {
  const path = join(dir, `${host.name}-${Math.random().toString(36).slice(2, 8)}.json`);
  writeFileSync(path, JSON.stringify({ ha }));
  const child = host.spawn(process.execPath, [RUNNER, path], { env: { ...process.env, VSD_LOG_LEVEL: 'debug' } });
  const lines = jsonLines(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const transitions = () => lines.filter((l) => l.event === 'state');
  const r: Runner = {
    host,
    child,
    lines,
    state: () => transitions().at(-1)?.to as string | undefined,
    waitState: async (state, timeoutMs = 40_000) =>
      (await waitFor(
        `${host.name} ${state} (log: ${JSON.stringify(transitions().map((t) => t.to))} ${stderr.slice(0, 500)})`,
        () => (r.state() === state ? transitions().at(-1)! : undefined),
        timeoutMs,
        5,
      ))!,
    entered: (state) =>
      transitions()
        .filter((t) => t.to === state)
        .at(-1),
    lastStatus: () => transitions().at(-1)?.status as Record<string, any> | undefined,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      await waitExit(child, 5000);
    },
  };
  return r;
}

export interface Keepalived {
  child: ChildProcess;
  output(): string;
  waitState(state: 'MASTER' | 'BACKUP' | 'FAULT', timeoutMs?: number): Promise<void>;
  /** How many times keepalived logged entering `state`. */
  count(state: string): number;
  stop(): Promise<void>;
}

export interface KeepalivedOptions {
  version: 2 | 3;
  vrid: number;
  priority: number;
  advertInt: number;
  vips: string[];
  nopreempt?: boolean;
  unicast?: { src: string; peers: string[] };
}

export function startKeepalived(host: Host, dir: string, o: KeepalivedOptions): Keepalived {
  const base = join(dir, `keepalived-${host.name}`);
  const conf = `global_defs {
  router_id ${host.name}
  vrrp_version ${o.version}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id ${o.vrid}
  priority ${o.priority}
  advert_int ${o.advertInt}
  ${o.nopreempt ? 'nopreempt' : ''}
  ${o.unicast ? `unicast_src_ip ${o.unicast.src}\n  unicast_peer {\n    ${o.unicast.peers.join('\n    ')}\n  }` : ''}
  virtual_ipaddress {
    ${o.vips.join('\n    ')}
  }
}
`;
  writeFileSync(`${base}.conf`, conf);
  const args = ['-n', '-l', '-D', '-P', '-f', `${base}.conf`, '-p', `${base}.pid`, '-r', `${base}-vrrp.pid`, '-c', `${base}-check.pid`];
  const child = host.spawn('keepalived', args);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const count = (state: string) => out.split(`Entering ${state} STATE`).length - 1;
  return {
    child,
    output: () => out,
    count,
    waitState: async (state, timeoutMs = 40_000) => {
      await waitFor(`keepalived on ${host.name} ${state}:\n${out.slice(-2000)}`, () => lastKeepalivedState(out) === state, timeoutMs, 10);
    },
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child, 5000);
    },
  };
}

function lastKeepalivedState(out: string): string | undefined {
  const m = [...out.matchAll(/Entering (MASTER|BACKUP|FAULT) STATE/g)];
  return m.at(-1)?.[1];
}

export async function hasAddress(host: Host, vip: string): Promise<boolean> {
  const r = await host.exec('ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(` ${vip} `) || r.stdout.includes(` ${vip}/`);
}

/** The link-layer address the host's neighbour table holds for `ip`, if any. */
export async function neighbourMac(host: Host, ip: string): Promise<string | undefined> {
  const r = await host.exec('ip', ['neigh', 'show', ip, 'dev', 'eth0']);
  return /lladdr ([0-9a-f:]{17})/.exec(r.stdout)?.[1];
}
