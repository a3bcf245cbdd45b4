/**
 * Prepare a real server for LVS direct routing (DR) or IP tunnelling (TUN), and undo it exactly.
 *
 * DR:  the VIP on `lo` (/32 or /128) so the node accepts packets for it without answering ARP for it, with
 *      net.ipv4.conf.all.arp_ignore=1 (answer ARP only for addresses on the receiving interface) and
 *      arp_announce=2 (never use the VIP as ARP source). The kernel takes the max of `all` and the interface value
 *      for both, so `all` suffices. rp_filter is left alone: DR packets arrive on the interface that routes back
 *      to the client.
 * TUN: the ipip module's `tunl0` up with the VIP on it, the same ARP sysctls, and rp_filter=0 on `all` and `tunl0`
 *      (the kernel uses the max of the two): the decapsulated packet's source (the client) does not route back via
 *      tunl0, so strict reverse-path filtering would drop it.
 *
 * Every change that was actually made (not the ones already in place) is appended to a state file; `teardown`
 * reverts them in reverse order, and only where the current value is still the one setup wrote. Loaded modules are
 * not unloaded.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalAddress, familyOf } from '@vsd/core';
import { RealServerSetupError } from './errors.js';
import type { RsSystem } from './system.js';

export const DEFAULT_SETUP_STATE = '/var/lib/vsd-agent/rs-setup.json';

export type SetupChange =
  | { kind: 'addr'; dev: string; cidr: string }
  | { kind: 'sysctl'; name: string; before: string; after: string }
  | { kind: 'link-up'; dev: string };

interface SetupState {
  version: 1;
  changes: SetupChange[];
}

export function readSetupState(path: string): SetupState {
  if (!existsSync(path)) return { version: 1, changes: [] };
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as SetupState;
    if (doc.version !== 1 || !Array.isArray(doc.changes)) throw new Error('unknown format');
    return doc;
  } catch (err) {
    throw new RealServerSetupError(`state file ${path} is unreadable: ${(err as Error).message}`, { path });
  }
}

function writeSetupState(path: string, state: SetupState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

function vipCidr(vip: string): { addr: string; cidr: string; v6: boolean } {
  const addr = canonicalAddress(vip);
  if (addr === null) throw new RealServerSetupError(`--vip ${JSON.stringify(vip)} is not an IPv4 or IPv6 address`, { vip });
  const v6 = familyOf(addr) === 'inet6';
  return { addr, cidr: `${addr}/${v6 ? 128 : 32}`, v6 };
}

async function must(sys: RsSystem, args: string[]): Promise<string> {
  const r = await sys.ip(args);
  if (r.code !== 0) throw new RealServerSetupError(`ip ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`, { args });
  return r.stdout;
}

async function hasAddr(sys: RsSystem, dev: string, addr: string, v6: boolean): Promise<boolean> {
  const out = await must(sys, ['-o', v6 ? '-6' : '-4', 'addr', 'show', 'dev', dev]);
  return out.split('\n').some((l) => {
    const m = /\binet6? ([0-9a-fA-F:.]+)\//.exec(l);
    return m !== null && canonicalAddress(m[1]!) === addr;
  });
}

class Recorder {
  readonly made: SetupChange[] = [];
  constructor(private readonly sys: RsSystem) {}

  async addr(dev: string, addr: string, cidr: string, v6: boolean): Promise<void> {
    if (await hasAddr(this.sys, dev, addr, v6)) return;
    await must(this.sys, ['addr', 'add', cidr, 'dev', dev]);
    this.made.push({ kind: 'addr', dev, cidr });
  }

  sysctl(name: string, value: string): void {
    const before = this.sys.readSysctl(name);
    if (before === null) throw new RealServerSetupError(`sysctl ${name} does not exist`, { name });
    if (before === value) return;
    try {
      this.sys.writeSysctl(name, value);
    } catch (err) {
      throw new RealServerSetupError(`cannot set ${name}=${value}: ${(err as Error).message}`, { name });
    }
    this.made.push({ kind: 'sysctl', name, before, after: value });
  }

  async linkUp(dev: string): Promise<void> {
    const out = await must(this.sys, ['-o', 'link', 'show', 'dev', dev]);
    if (/[<,]UP[,>]/.test(out)) return;
    await must(this.sys, ['link', 'set', 'dev', dev, 'up']);
    this.made.push({ kind: 'link-up', dev });
  }
}

/** Run `steps`; on failure undo what they already changed, then rethrow. Successful changes join the state file. */
async function transaction(sys: RsSystem, statePath: string, steps: (r: Recorder) => Promise<void>): Promise<SetupChange[]> {
  const state = readSetupState(statePath);
  const rec = new Recorder(sys);
  try {
    await steps(rec);
  } catch (err) {
    await revert(sys, rec.made);
    throw err;
  }
  if (rec.made.length) writeSetupState(statePath, { version: 1, changes: [...state.changes, ...rec.made] });
  return rec.made;
}

const ARP_SYSCTLS: Array<[string, string]> = [
  ['net.ipv4.conf.all.arp_ignore', '1'],
  ['net.ipv4.conf.all.arp_announce', '2'],
];

export async function setupDr(sys: RsSystem, vip: string, statePath = DEFAULT_SETUP_STATE): Promise<SetupChange[]> {
  const { addr, cidr, v6 } = vipCidr(vip);
  return transaction(sys, statePath, async (r) => {
    await r.addr('lo', addr, cidr, v6);
    // ARP matters for IPv4 only; IPv6 neighbour discovery answers only for addresses on the receiving interface.
    for (const [k, v] of ARP_SYSCTLS) r.sysctl(k, v);
  });
}

export async function setupTun(sys: RsSystem, vip: string, statePath = DEFAULT_SETUP_STATE): Promise<SetupChange[]> {
  const { addr, cidr, v6 } = vipCidr(vip);
  if (v6) throw new RealServerSetupError('TUN setup for an IPv6 VIP (ip6tnl) is not supported yet; use an IPv4 VIP or DR', { vip });
  if ((await sys.ip(['-o', 'link', 'show', 'dev', 'tunl0'])).code !== 0) {
    const m = await sys.modprobe('ipip');
    if (m.code !== 0 || (await sys.ip(['-o', 'link', 'show', 'dev', 'tunl0'])).code !== 0)
      throw new RealServerSetupError(
        `TUN needs the ipip kernel module for the tunl0 device, and it is not available here (modprobe ipip: ${(m.stderr || `exit ${m.code}`).trim()}); use DR or a kernel with ipip`,
        { module: 'ipip' },
      );
  }
  return transaction(sys, statePath, async (r) => {
    await r.linkUp('tunl0');
    await r.addr('tunl0', addr, cidr, false);
    for (const [k, v] of ARP_SYSCTLS) r.sysctl(k, v);
    r.sysctl('net.ipv4.conf.all.rp_filter', '0');
    r.sysctl('net.ipv4.conf.tunl0.rp_filter', '0');
  });
}

export interface TeardownResult {
  reverted: SetupChange[];
  /** Changes left alone because someone changed the value since (with the reason). */
  skipped: Array<{ change: SetupChange; reason: string }>;
}

async function revert(sys: RsSystem, changes: readonly SetupChange[]): Promise<TeardownResult> {
  const out: TeardownResult = { reverted: [], skipped: [] };
  for (const c of [...changes].reverse()) {
    if (c.kind === 'sysctl') {
      const now = sys.readSysctl(c.name);
      if (now !== c.after) {
        out.skipped.push({ change: c, reason: `${c.name} is ${now} now, not the ${c.after} setup wrote` });
        continue;
      }
      sys.writeSysctl(c.name, c.before);
    } else if (c.kind === 'addr') {
      const r = await sys.ip(['addr', 'del', c.cidr, 'dev', c.dev]);
      if (r.code !== 0) {
        out.skipped.push({ change: c, reason: r.stderr.trim() || `exit ${r.code}` });
        continue;
      }
    } else {
      const r = await sys.ip(['link', 'set', 'dev', c.dev, 'down']);
      if (r.code !== 0) {
        out.skipped.push({ change: c, reason: r.stderr.trim() || `exit ${r.code}` });
        continue;
      }
    }
    out.reverted.push(c);
  }
  return out;
}

/** Undo everything recorded in the state file, newest first, and remove the file. */
export async function teardown(sys: RsSystem, statePath = DEFAULT_SETUP_STATE): Promise<TeardownResult> {
  const state = readSetupState(statePath);
  const r = await revert(sys, state.changes);
  if (existsSync(statePath)) unlinkSync(statePath);
  return r;
}
