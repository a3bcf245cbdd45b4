/**
 * What real-server setup needs of the host, behind one interface so the logic is unit-tested against a fake:
 * iproute2 for addresses and links, /proc/sys for sysctls, modprobe for the ipip module, libbpf for the BPF
 * decapsulator.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bpfDecapHost, type DecapHost } from './decap.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RsSystem {
  ip(args: string[]): Promise<RunResult>;
  modprobe(module: string): Promise<RunResult>;
  /** Dotted sysctl name (net.ipv4.conf.all.arp_ignore) -> value, or null when it does not exist. */
  readSysctl(name: string): string | null;
  writeSysctl(name: string, value: string): void;
  /** The BPF decapsulator (TUN without ipip); absent where it cannot exist, and then setup says so. */
  decap?: DecapHost;
}

function run(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code === 127 ? err.message : '') });
    });
  });
}

export function sysctlPath(root: string, name: string): string {
  return join(root, ...name.split('.'));
}

export function hostSystem(sysctlRoot = '/proc/sys'): RsSystem {
  return {
    ip: (args) => run('ip', args),
    modprobe: (m) => run('modprobe', [m]),
    readSysctl(name) {
      try {
        return readFileSync(sysctlPath(sysctlRoot, name), 'utf8').trim();
      } catch {
        return null;
      }
    },
    writeSysctl(name, value) {
      writeFileSync(sysctlPath(sysctlRoot, name), `${value}\n`);
    },
    decap: bpfDecapHost(),
  };
}
