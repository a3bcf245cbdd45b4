/**
 * IPVS over generic netlink: the same requests ipvsadm's libipvs sends, one method per command, plus
 * `apply()` to send many changes in one batched exchange (reconcile at thousands of services).
 */
import { execFileSync } from 'node:child_process';
import { NetlinkError, SyscallError, type VsdError } from '../../errors.js';
import type { ServiceId, SyncDaemon, Timeouts, VirtualService } from '../../model/schema.js';
import { serviceFamily } from '../../model/schema.js';
import { parseGenl, type NlMessage, NetlinkSocket, type NetlinkRequest, NETLINK_GENERIC, NLM_F_DUMP, NLM_F_ACK, resolveFamily } from '@vsd/sys/netlink';
import { ENOENT } from '@vsd/sys';
import {
  daemonAttrs,
  decodeDaemon,
  decodeDest,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  destAttrs,
  destIdAttrs,
  genl,
  serviceAttrs,
  serviceIdNested,
  timeoutAttrs,
  type DestSpec,
  type KernelDaemon,
  type KernelDest,
  type KernelService,
} from './codec.js';
import { IPVS_CMD, IPVS_GENL_NAME, type IpvsCommand } from './constants.js';
import { ipvsError, ipvsMissing, type IpvsErrorContext } from './errors.js';

/** One change for {@link IpvsClient.apply}. */
export type IpvsOp =
  | { op: 'addService' | 'editService'; service: VirtualService }
  | { op: 'deleteService'; service: ServiceId }
  | { op: 'addDest' | 'editDest'; service: ServiceId; dest: DestSpec }
  | { op: 'deleteDest'; service: ServiceId; dest: Pick<DestSpec, 'address' | 'port'> };

export interface IpvsClientOptions {
  /** Run `modprobe -- ip_vs` when the family is missing, as ipvsadm does (default true). */
  loadModule?: boolean;
  /** Longest wait for one kernel reply (default 5000 ms). */
  timeoutMs?: number;
}

export class IpvsClient {
  private constructor(
    private readonly sock: NetlinkSocket,
    private readonly family: number,
  ) {}

  /** Throws IpvsUnavailableError (naming ip_vs and the proxy dataplane) when the kernel has no IPVS. */
  static open(opts: IpvsClientOptions = {}): IpvsClient {
    const sock = NetlinkSocket.open(NETLINK_GENERIC, { timeoutMs: opts.timeoutMs ?? 5000 });
    try {
      return new IpvsClient(sock, resolveIpvs(sock, opts.loadModule ?? true));
    } catch (err) {
      sock.close();
      throw err;
    }
  }

  close(): void {
    this.sock.close();
  }

  info(): { versionCode: number; version: string; connTableSize: number } {
    const [m] = this.call('GET_INFO', genl(IPVS_CMD.GET_INFO), {});
    return decodeInfo(body(m));
  }

  services(): KernelService[] {
    return this.dumpCmd('GET_SERVICE', genl(IPVS_CMD.GET_SERVICE), {}).map((m) => decodeService(body(m)));
  }

  /** One service, or throws ServiceNotFoundError. */
  service(id: ServiceId): KernelService {
    const [m] = this.call('GET_SERVICE', genl(IPVS_CMD.GET_SERVICE, [serviceIdNested(id)]), { service: id });
    return decodeService(body(m));
  }

  dests(id: ServiceId): KernelDest[] {
    const fam = serviceFamily(id);
    return this.dumpCmd('GET_DEST', genl(IPVS_CMD.GET_DEST, [serviceIdNested(id)]), { service: id }).map((m) => decodeDest(body(m), fam));
  }

  /** Dests of many services (one dump each: the kernel runs one dump per socket at a time). */
  destsOf(ids: readonly ServiceId[]): KernelDest[][] {
    const reqs = ids.map((id) => ({ type: this.family, flags: NLM_F_DUMP, payload: genl(IPVS_CMD.GET_DEST, [serviceIdNested(id)]) }));
    return this.sock.batch(reqs).map((r, i) => {
      if (r.errno) throw ipvsError(r.errno, { command: 'GET_DEST', service: ids[i]! });
      const fam = serviceFamily(ids[i]!);
      return r.messages.map((m) => decodeDest(body(m), fam));
    });
  }

  addService(svc: VirtualService): void {
    this.throwFirst(this.apply([{ op: 'addService', service: svc }]));
  }

  editService(svc: VirtualService): void {
    this.throwFirst(this.apply([{ op: 'editService', service: svc }]));
  }

  deleteService(id: ServiceId): void {
    this.throwFirst(this.apply([{ op: 'deleteService', service: id }]));
  }

  addDest(id: ServiceId, dest: DestSpec): void {
    this.throwFirst(this.apply([{ op: 'addDest', service: id, dest }]));
  }

  editDest(id: ServiceId, dest: DestSpec): void {
    this.throwFirst(this.apply([{ op: 'editDest', service: id, dest }]));
  }

  deleteDest(id: ServiceId, dest: Pick<DestSpec, 'address' | 'port'>): void {
    this.throwFirst(this.apply([{ op: 'deleteDest', service: id, dest }]));
  }

  /** Sends all ops in batched exchanges; returns, per op, null or the typed error the kernel's answer maps to. */
  apply(ops: readonly IpvsOp[]): (VsdError | null)[] {
    const reqs: NetlinkRequest[] = ops.map((o) => ({ type: this.family, flags: NLM_F_ACK, payload: encodeOp(o) }));
    return this.sock.batch(reqs).map((r, i) => (r.errno ? ipvsError(r.errno, opContext(ops[i]!)) : null));
  }

  flush(): void {
    this.call('FLUSH', genl(IPVS_CMD.FLUSH), {});
  }

  /** Zero counters of one service, or of all when `id` is omitted. */
  zero(id?: ServiceId): void {
    this.call('ZERO', genl(IPVS_CMD.ZERO, id ? [serviceIdNested(id)] : []), id ? { service: id } : {});
  }

  timeouts(): Timeouts {
    const [m] = this.call('GET_CONFIG', genl(IPVS_CMD.GET_CONFIG), {});
    return decodeTimeouts(body(m));
  }

  /** 0 keeps a value unchanged, like `ipvsadm --set`. */
  setTimeouts(t: Timeouts): void {
    this.call('SET_CONFIG', genl(IPVS_CMD.SET_CONFIG, timeoutAttrs(t)), {});
  }

  daemons(): KernelDaemon[] {
    return this.dumpCmd('GET_DAEMON', genl(IPVS_CMD.GET_DAEMON), {})
      .map((m) => decodeDaemon(body(m)))
      .filter((d): d is KernelDaemon => d !== undefined);
  }

  startDaemon(d: SyncDaemon): void {
    this.call('NEW_DAEMON', genl(IPVS_CMD.NEW_DAEMON, [daemonAttrs(d)]), { daemonState: d.state });
  }

  stopDaemon(state: 'master' | 'backup'): void {
    this.call('DEL_DAEMON', genl(IPVS_CMD.DEL_DAEMON, [daemonAttrs({ state })]), { daemonState: state });
  }

  private call(command: IpvsCommand, payload: Buffer, ctx: Omit<IpvsErrorContext, 'command'>): NlMessage[] {
    try {
      return this.sock.request(this.family, 0, payload, `IPVS ${command}`);
    } catch (err) {
      if (err instanceof SyscallError && err.syscall === `IPVS ${command}`) throw ipvsError(err.errnoNumber, { command, ...ctx });
      throw err;
    }
  }

  private dumpCmd(command: IpvsCommand, payload: Buffer, ctx: Omit<IpvsErrorContext, 'command'>): NlMessage[] {
    try {
      return this.sock.dump(this.family, payload, `IPVS ${command}`);
    } catch (err) {
      if (err instanceof SyscallError && err.syscall === `IPVS ${command}`) throw ipvsError(err.errnoNumber, { command, ...ctx });
      throw err;
    }
  }

  private throwFirst(results: (VsdError | null)[]): void {
    const e = results.find((r) => r !== null);
    if (e) throw e;
  }
}

function body(m: NlMessage | undefined): Buffer {
  if (!m) throw new NetlinkError('IPVS', 'ENOMSG', 'the kernel answered the request without a reply message');
  return parseGenl(m.payload).body;
}

export function encodeOp(o: IpvsOp): Buffer {
  switch (o.op) {
    case 'addService':
      return genl(IPVS_CMD.NEW_SERVICE, [serviceAttrs(o.service)]);
    case 'editService':
      return genl(IPVS_CMD.SET_SERVICE, [serviceAttrs(o.service)]);
    case 'deleteService':
      return genl(IPVS_CMD.DEL_SERVICE, [serviceIdNested(o.service)]);
    case 'addDest':
      return genl(IPVS_CMD.NEW_DEST, [serviceIdNested(o.service), destAttrs(o.dest)]);
    case 'editDest':
      return genl(IPVS_CMD.SET_DEST, [serviceIdNested(o.service), destAttrs(o.dest)]);
    case 'deleteDest':
      return genl(IPVS_CMD.DEL_DEST, [serviceIdNested(o.service), destIdAttrs(o.dest)]);
  }
}

const OP_COMMAND: Record<IpvsOp['op'], IpvsCommand> = {
  addService: 'NEW_SERVICE',
  editService: 'SET_SERVICE',
  deleteService: 'DEL_SERVICE',
  addDest: 'NEW_DEST',
  editDest: 'SET_DEST',
  deleteDest: 'DEL_DEST',
};

function opContext(o: IpvsOp): IpvsErrorContext {
  const ctx: IpvsErrorContext = { command: OP_COMMAND[o.op], service: o.service };
  if (o.op === 'addService' || o.op === 'editService') {
    ctx.scheduler = o.service.scheduler;
    ctx.pe = o.service.pe;
  }
  if ('dest' in o) ctx.dest = o.dest;
  return ctx;
}

function resolveIpvs(sock: NetlinkSocket, loadModule: boolean): number {
  try {
    return resolveFamily(sock, IPVS_GENL_NAME);
  } catch (err) {
    if (!(err instanceof SyscallError) || err.syscall !== 'CTRL_CMD_GETFAMILY' || err.errnoNumber !== ENOENT) throw err;
  }
  if (loadModule) {
    try {
      execFileSync('modprobe', ['--', 'ip_vs'], { stdio: 'ignore', timeout: 10_000 });
      return resolveFamily(sock, IPVS_GENL_NAME);
    } catch {
      /* fall through to the typed error */
    }
  }
  throw ipvsMissing();
}
