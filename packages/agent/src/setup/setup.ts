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
 * TUN without ipip (`--decap bpf`, or `auto` when the kernel has no ipip): the VIP on `lo` as for DR, the same ARP
 *      sysctls, and the BPF decapsulator (bpf/rs_decap.c, XDP) on the real server's interface, told this
 *      interface's IPv4 addresses (outer destinations) and the VIP (inner destination). rp_filter is left alone: the
 *      decapsulated packet arrives on the interface that routes back to the client, as for DR.
 *
 * Every change that was actually made (not the ones already in place) is appended to a state file; `teardown`
 * reverts them in reverse order, and only where the current value is still the one setup wrote. Loaded modules are
 * not unloaded.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonicalAddress, familyOf, VsdError } from '@vsd/protocol';
import {
  ADDR_LOCAL,
  ADDR_VIP,
  DECAP_ADDRS_MAP,
  DECAP_CONF_MAP,
  DECAP_PROGRAM,
  DECAP_STATS_MAP,
  type AttachMode,
  type DecapHost,
  type DecapStats,
} from './decap.js';
import { RealServerDecapError, RealServerSetupError } from './errors.js';
import type { RsSystem } from './system.js';

export const DEFAULT_SETUP_STATE = '/var/lib/vsd-agent/rs-setup.json';

export type SetupChange =
  | { kind: 'addr'; dev: string; cidr: string }
  | { kind: 'sysctl'; name: string; before: string; after: string }
  | { kind: 'link-up'; dev: string }
  /** The BPF decapsulator attached to `dev`; found again later by these ids. */
  | { kind: 'xdp-decap'; dev: string; mode: AttachMode; progId: number; addrsMapId: number; confMapId: number; statsMapId: number }
  /** `kinds` bits (ADDR_VIP) set for `addr` in the decapsulator's address map. */
  | { kind: 'decap-addr'; dev: string; addrsMapId: number; addr: string; kinds: number }
  | { kind: 'decap-gue'; dev: string; confMapId: number; before: number; after: number };

type XdpDecapChange = Extract<SetupChange, { kind: 'xdp-decap' }>;

/** How setup-tun gets the inner packet out: the ipip module's tunl0, the BPF decapsulator, or ipip when it exists. */
export type DecapMethod = 'auto' | 'ipip' | 'bpf';

export interface TunOptions {
  decap?: DecapMethod;
  /** Interface the BPF decapsulator attaches to; default: the one of the IPv4 default route. */
  dev?: string;
  /** Also strip GUE (UDP to this port, GUE version 0 with proto 4, or version 1 direct IPv4); BPF only. */
  guePort?: number;
}

interface SetupState {
  version: 1;
  changes: SetupChange[];
}

export function readSetupState(path: string): SetupState {
  if (!existsSync(path)) return { version: 1, changes: [] };
  let doc: SetupState;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8')) as SetupState;
  } catch (err) {
    throw new RealServerSetupError(`state file ${path} is unreadable: ${(err as Error).message}`, { path });
  }
  if (doc?.version !== 1 || !Array.isArray(doc.changes)) throw new RealServerSetupError(`state file ${path} is unreadable: unknown format`, { path });
  return doc;
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
  constructor(
    private readonly sys: RsSystem,
    private readonly prior: readonly SetupChange[] = [],
  ) {}

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

  /** The decapsulator on `dev`: the one recorded earlier if it is still the attached program, else a new one. */
  async decapOn(decap: DecapHost, dev: string, guePort: number): Promise<XdpDecapChange> {
    const ifindex = decap.ifindex(dev);
    if (ifindex === 0) throw new RealServerDecapError(dev, `interface ${dev} does not exist`);
    const attached = { native: decap.attachedProgId(ifindex, 'native'), generic: decap.attachedProgId(ifindex, 'generic') };
    const known = [...this.prior, ...this.made]
      .filter((c): c is XdpDecapChange => c.kind === 'xdp-decap' && c.dev === dev)
      .find((c) => attached[c.mode] === c.progId);
    if (known) {
      // Addresses given to the interface since: accepted as outer destinations too (recorded, so teardown clears them).
      for (const a of await ipv4Addresses(this.sys, dev)) this.decapAddr(decap, known, a, ADDR_LOCAL);
      return known;
    }
    for (const mode of ['native', 'generic'] as const) {
      if (attached[mode] === 0) continue;
      const name = decap.progName(attached[mode]);
      throw new RealServerDecapError(
        dev,
        `${dev} already has an XDP program (${mode}, id ${attached[mode]}${name ? `, ${name}` : ''})${name === DECAP_PROGRAM ? ' that this state file did not record' : ''}; detach it first (ip link set dev ${dev} xdp off) or use --decap ipip`,
        { progId: attached[mode] },
      );
    }
    const local = await ipv4Addresses(this.sys, dev);
    if (!local.length) throw new RealServerDecapError(dev, `${dev} has no IPv4 address for tunnelled packets to be addressed to`);
    const a = decap.attach(ifindex, local, guePort);
    const change: XdpDecapChange = { kind: 'xdp-decap', dev, ...a };
    this.made.push(change);
    return change;
  }

  decapAddr(decap: DecapHost, at: XdpDecapChange, addr: string, kinds: number): void {
    const now = decap.addrKinds(at.addrsMapId, addr);
    const add = kinds & ~now;
    if (!add) return;
    decap.setAddrKinds(at.addrsMapId, addr, now | add);
    this.made.push({ kind: 'decap-addr', dev: at.dev, addrsMapId: at.addrsMapId, addr, kinds: add });
  }

  decapGue(decap: DecapHost, at: XdpDecapChange, port: number): void {
    const before = decap.guePort(at.confMapId);
    if (before === port) return;
    decap.setGuePort(at.confMapId, port);
    this.made.push({ kind: 'decap-gue', dev: at.dev, confMapId: at.confMapId, before, after: port });
  }
}

async function ipv4Addresses(sys: RsSystem, dev: string): Promise<string[]> {
  const out = await must(sys, ['-o', '-4', 'addr', 'show', 'dev', dev]);
  return [...out.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}

async function defaultRouteDev(sys: RsSystem): Promise<string> {
  const r = await sys.ip(['-o', '-4', 'route', 'show', 'default']);
  const m = /\bdev (\S+)/.exec(r.code === 0 ? r.stdout : '');
  if (!m) throw new RealServerSetupError('--dev is needed: no IPv4 default route names the interface tunnelled packets arrive on', {});
  return m[1]!;
}

/** Run `steps`; on failure undo what they already changed, then rethrow. Successful changes join the state file. */
async function transaction(sys: RsSystem, statePath: string, steps: (r: Recorder) => Promise<void>): Promise<SetupChange[]> {
  const state = readSetupState(statePath);
  const rec = new Recorder(sys, state.changes);
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

async function ipipAvailable(sys: RsSystem): Promise<string | null> {
  if ((await sys.ip(['-o', 'link', 'show', 'dev', 'tunl0'])).code === 0) return null;
  const m = await sys.modprobe('ipip');
  if (m.code === 0 && (await sys.ip(['-o', 'link', 'show', 'dev', 'tunl0'])).code === 0) return null;
  return (m.stderr || `exit ${m.code}`).trim();
}

export async function setupTun(sys: RsSystem, vip: string, statePath = DEFAULT_SETUP_STATE, opts: TunOptions = {}): Promise<SetupChange[]> {
  const { addr, cidr, v6 } = vipCidr(vip);
  if (v6) throw new RealServerSetupError('TUN setup for an IPv6 VIP (ip6tnl) is not supported yet; use an IPv4 VIP or DR', { vip });
  const method = opts.decap ?? 'auto';
  if (opts.guePort !== undefined && method === 'ipip')
    throw new RealServerSetupError('--gue-port needs the BPF decapsulator (--decap bpf or auto); tunl0 does not strip GUE', { guePort: opts.guePort });
  if (method !== 'bpf' && opts.guePort === undefined) {
    const missing = await ipipAvailable(sys);
    if (missing === null) return setupTunl0(sys, addr, cidr, statePath);
    if (method === 'ipip' || !sys.decap)
      throw new RealServerSetupError(
        `TUN needs the ipip kernel module for the tunl0 device, and it is not available here (modprobe ipip: ${missing}); use --decap bpf, DR or a kernel with ipip`,
        { module: 'ipip' },
      );
  }
  const decap = sys.decap;
  if (!decap) throw new RealServerSetupError('the BPF decapsulator is not available on this host', {});
  const dev = opts.dev ?? (await defaultRouteDev(sys));
  return transaction(sys, statePath, async (r) => {
    await r.addr('lo', addr, cidr, false);
    for (const [k, v] of ARP_SYSCTLS) r.sysctl(k, v);
    await bpfStep(dev, async () => {
      const at = await r.decapOn(decap, dev, opts.guePort ?? 0);
      r.decapAddr(decap, at, addr, ADDR_VIP);
      if (opts.guePort !== undefined) r.decapGue(decap, at, opts.guePort);
    });
  });
}

/** A libbpf failure during decapsulator setup, as the setup error naming the interface. */
async function bpfStep<T>(dev: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof VsdError && err.code === 'VSD_ERR_BPF') {
      const e = err.details as { call?: string; errnoName?: string };
      const perm = e.errnoName === 'EPERM' || e.errnoName === 'EACCES';
      throw new RealServerDecapError(
        dev,
        perm
          ? `BPF is not permitted here (${e.call}: ${e.errnoName}); attaching the decapsulator to ${dev} needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON`
          : `cannot attach the BPF decapsulator to ${dev}: ${err.message}`,
        { call: e.call, errnoName: e.errnoName },
        err,
      );
    }
    throw err;
  }
}

function setupTunl0(sys: RsSystem, addr: string, cidr: string, statePath: string): Promise<SetupChange[]> {
  return transaction(sys, statePath, async (r) => {
    await r.linkUp('tunl0');
    await r.addr('tunl0', addr, cidr, false);
    for (const [k, v] of ARP_SYSCTLS) r.sysctl(k, v);
    r.sysctl('net.ipv4.conf.all.rp_filter', '0');
    r.sysctl('net.ipv4.conf.tunl0.rp_filter', '0');
  });
}

export interface DecapStatus {
  dev: string;
  mode: AttachMode;
  progId: number;
  /** Still the program attached to dev (false: detached or replaced by someone else since). */
  attached: boolean;
  vips: string[];
  guePort: number;
  stats: DecapStats | null;
}

/** The decapsulators the state file records, whether each is still attached, its VIPs and its counters. */
export function decapStatus(sys: RsSystem, statePath = DEFAULT_SETUP_STATE): DecapStatus[] {
  const { changes } = readSetupState(statePath);
  const decap = sys.decap;
  if (!decap) return [];
  return changes
    .filter((c): c is XdpDecapChange => c.kind === 'xdp-decap')
    .map((c) => {
      const ifindex = decap.ifindex(c.dev);
      const attached = ifindex !== 0 && decap.attachedProgId(ifindex, c.mode) === c.progId;
      const vips = changes
        .filter((v): v is Extract<SetupChange, { kind: 'decap-addr' }> => v.kind === 'decap-addr' && v.addrsMapId === c.addrsMapId)
        .filter((v) => attached && (decap.addrKinds(c.addrsMapId, v.addr) & ADDR_VIP) !== 0)
        .map((v) => v.addr);
      return {
        dev: c.dev,
        mode: c.mode,
        progId: c.progId,
        attached,
        vips,
        guePort: attached ? decap.guePort(c.confMapId) : 0,
        stats: attached && decap.mapName(c.statsMapId) === DECAP_STATS_MAP ? decap.stats(c.statsMapId) : null,
      };
    });
}

export interface TeardownResult {
  reverted: SetupChange[];
  /** Changes left alone because someone changed the value since (with the reason). */
  skipped: Array<{ change: SetupChange; reason: string }>;
}

/** Undo one decapsulator change; a reason string when it was left alone. */
function revertDecap(decap: DecapHost | undefined, c: Extract<SetupChange, { kind: 'xdp-decap' | 'decap-addr' | 'decap-gue' }>): string | null {
  if (!decap) return 'the BPF decapsulator is not available on this host';
  try {
    if (c.kind === 'xdp-decap') {
      const ifindex = decap.ifindex(c.dev);
      if (ifindex === 0) return `interface ${c.dev} is gone`;
      const now = decap.attachedProgId(ifindex, c.mode);
      if (now !== c.progId) return `the decapsulator (program id ${c.progId}) is no longer attached to ${c.dev}${now ? ` (program id ${now} is)` : ''}`;
      decap.detach(ifindex, c.mode);
      return null;
    }
    const mapId = c.kind === 'decap-addr' ? c.addrsMapId : c.confMapId;
    const want = c.kind === 'decap-addr' ? DECAP_ADDRS_MAP : DECAP_CONF_MAP;
    if (decap.mapName(mapId) !== want) return `the decapsulator on ${c.dev} is gone (map id ${mapId})`;
    if (c.kind === 'decap-addr') {
      decap.setAddrKinds(mapId, c.addr, decap.addrKinds(mapId, c.addr) & ~c.kinds);
      return null;
    }
    const port = decap.guePort(mapId);
    if (port !== c.after) return `the decapsulator's GUE port is ${port} now, not the ${c.after} setup wrote`;
    decap.setGuePort(mapId, c.before);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

async function revert(sys: RsSystem, changes: readonly SetupChange[]): Promise<TeardownResult> {
  const out: TeardownResult = { reverted: [], skipped: [] };
  for (const c of [...changes].reverse()) {
    if (c.kind === 'xdp-decap' || c.kind === 'decap-addr' || c.kind === 'decap-gue') {
      const reason = revertDecap(sys.decap, c);
      if (reason !== null) {
        out.skipped.push({ change: c, reason });
        continue;
      }
    } else if (c.kind === 'sysctl') {
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
