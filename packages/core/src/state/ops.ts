/**
 * Transactions on the desired-state document. A transaction is a list of operations applied all-or-nothing:
 * `applyOps` works on a copy and returns it, so a failing operation leaves the caller's state untouched
 * (this is what makes `vsadm -R` atomic). Errors carry the errno IPVS would return for the same request.
 */
import { z } from 'zod';
import {
  RealServerExistsError,
  RealServerNotFoundError,
  SchedulerNotFoundError,
  ServiceExistsError,
  ServiceNotFoundError,
  SyncDaemonError,
  ValidationError,
} from '../errors.js';
import { KNOWN_PERSISTENCE_ENGINES, KNOWN_SCHEDULERS } from '../model/constants.js';
import { realServerKey, serviceKey } from '../model/keys.js';
import {
  parseRealServer,
  parseServiceId,
  parseVirtualService,
  parseWith,
  syncDaemonSchema,
  timeoutsSchema,
  type DesiredState,
  type RealServer,
  type ServiceId,
  type SyncDaemon,
  type Timeouts,
  type VirtualService,
} from '../model/schema.js';

export type StateOp =
  | { op: 'add-service'; service: VirtualService }
  /** Replaces every option of the service (ipvsadm -E sends a full service); real servers are kept. */
  | { op: 'edit-service'; service: VirtualService }
  | { op: 'delete-service'; service: ServiceId }
  | { op: 'add-server'; service: ServiceId; server: RealServer }
  | { op: 'edit-server'; service: ServiceId; server: RealServer }
  | { op: 'delete-server'; service: ServiceId; server: { address: string; port: number } }
  | { op: 'clear' }
  /** Zeroes counters; it changes no configuration but is ordered with the other transactions. */
  | { op: 'zero'; service?: ServiceId }
  /** ipvsadm --set: a 0 leaves that timeout unchanged. */
  | { op: 'set-timeouts'; timeouts: Timeouts }
  | { op: 'start-daemon'; daemon: SyncDaemon }
  | { op: 'stop-daemon'; state: 'master' | 'backup' }
  /** Install a whole table (config load, peer snapshot). */
  | { op: 'replace'; services: VirtualService[] };

const opNames = [
  'add-service',
  'edit-service',
  'delete-service',
  'add-server',
  'edit-server',
  'delete-server',
  'clear',
  'zero',
  'set-timeouts',
  'start-daemon',
  'stop-daemon',
  'replace',
] as const;

/** Validate untrusted operations (control API, peer sync). Errors name `ops.N.field`. */
export function parseOps(input: unknown): StateOp[] {
  const list = parseWith(z.array(z.object({ op: z.enum(opNames) }).passthrough()).min(1), input, 'ops');
  return list.map((raw, i) => parseOp(raw as Record<string, unknown>, `ops.${i}`));
}

/**
 * parseOps for a large transaction (a whole `vsadm -R`): validated OPS_PER_TURN operations at a time, yielding to the
 * event loop in between, so 100k operations (about 2 s of validation) do not hold up VRRP adverts and health checks
 * for the whole time. Same results and errors as parseOps.
 */
export async function parseOpsInTurns(input: unknown): Promise<StateOp[]> {
  if (!Array.isArray(input) || input.length <= OPS_PER_TURN) return parseOps(input);
  const out: StateOp[] = [];
  for (let i = 0; i < input.length; i++) {
    if (i > 0 && i % OPS_PER_TURN === 0) await new Promise((r) => setImmediate(r));
    const raw: unknown = input[i];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError(`ops.${i}`, raw, 'expected an operation object');
    out.push(parseOp(raw as Record<string, unknown>, `ops.${i}`));
  }
  return out;
}

const OPS_PER_TURN = 500;

function parseOp(raw: Record<string, unknown>, p: string): StateOp {
  const keys = (allowed: string[]): void => {
    for (const k of Object.keys(raw)) if (k !== 'op' && !allowed.includes(k)) throw new ValidationError(`${p}.${k}`, raw[k], 'unknown field');
  };
  switch (raw.op) {
    case 'add-service':
    case 'edit-service':
      keys(['service']);
      return { op: raw.op, service: parseVirtualService(raw.service, `${p}.service`) };
    case 'delete-service':
      keys(['service']);
      return { op: 'delete-service', service: parseServiceId(raw.service, `${p}.service`) };
    case 'add-server':
    case 'edit-server': {
      keys(['service', 'server']);
      const service = parseServiceId(raw.service, `${p}.service`);
      return { op: raw.op, service, server: parseRealServer(service, raw.server, `${p}.server`) };
    }
    case 'delete-server': {
      keys(['service', 'server']);
      const service = parseServiceId(raw.service, `${p}.service`);
      const s = parseWith(z.object({ address: z.string(), port: z.number().int().min(0).max(65535) }).strict(), raw.server, `${p}.server`);
      const rs = parseRealServer(service, { ...s, forwarding: 'masq' }, `${p}.server`);
      return { op: 'delete-server', service, server: { address: rs.address, port: rs.port } };
    }
    case 'clear':
      keys([]);
      return { op: 'clear' };
    case 'zero':
      keys(['service']);
      return raw.service === undefined ? { op: 'zero' } : { op: 'zero', service: parseServiceId(raw.service, `${p}.service`) };
    case 'set-timeouts':
      keys(['timeouts']);
      return { op: 'set-timeouts', timeouts: parseWith(timeoutsSchema, raw.timeouts, `${p}.timeouts`) };
    case 'start-daemon':
      keys(['daemon']);
      return { op: 'start-daemon', daemon: parseWith(syncDaemonSchema, raw.daemon, `${p}.daemon`) };
    case 'stop-daemon':
      keys(['state']);
      return { op: 'stop-daemon', state: parseWith(z.enum(['master', 'backup']), raw.state, `${p}.state`) };
    case 'replace': {
      keys(['services']);
      const arr = parseWith(z.array(z.unknown()), raw.services, `${p}.services`);
      return { op: 'replace', services: arr.map((s, i) => parseVirtualService(s, `${p}.services.${i}`)) };
    }
    default:
      throw new ValidationError(`${p}.op`, raw.op, 'unknown operation');
  }
}

/** Apply operations to a copy of `state`; throws (leaving `state` untouched) on the first failing operation. */
export function applyOps(state: DesiredState, ops: readonly StateOp[]): DesiredState {
  const next: DesiredState = structuredClone(state);
  const index = new TableIndex(next);
  for (const op of ops) applyOne(next, op, index);
  return next;
}

/**
 * The position of the first operation of `ops` that fails on `state` (-1 when none does), with the error; one copy
 * and one pass, so finding the failing line of a 100k-line restore stays linear.
 */
export function firstFailingOp(state: DesiredState, ops: readonly StateOp[]): { index: number; error: unknown } {
  const next: DesiredState = structuredClone(state);
  const index = new TableIndex(next);
  for (let i = 0; i < ops.length; i++) {
    try {
      applyOne(next, ops[i]!, index);
    } catch (error) {
      return { index: i, error };
    }
  }
  return { index: -1, error: undefined };
}

/**
 * Services by key and each service's real-server keys, kept up to date by the operations of one transaction:
 * a lookup per operation instead of a scan, so a transaction of n operations costs O(n), not O(n^2).
 */
class TableIndex {
  private readonly services = new Map<string, VirtualService>();
  private readonly servers = new Map<VirtualService, Set<string>>();

  constructor(private readonly state: DesiredState) {
    this.rebuild();
  }

  rebuild(): void {
    this.services.clear();
    this.servers.clear();
    for (const svc of this.state.services) this.services.set(serviceKey(svc), svc);
  }

  service(id: ServiceId): VirtualService | undefined {
    return this.services.get(serviceKey(id));
  }

  require(id: ServiceId): VirtualService {
    const svc = this.service(id);
    if (!svc) throw new ServiceNotFoundError(serviceKey(id));
    return svc;
  }

  addService(svc: VirtualService): void {
    this.services.set(serviceKey(svc), svc);
  }

  deleteService(svc: VirtualService): void {
    this.services.delete(serviceKey(svc));
    this.servers.delete(svc);
  }

  /** The keys of the service's real servers, built at first use. */
  serverKeys(svc: VirtualService): Set<string> {
    let keys = this.servers.get(svc);
    if (!keys) {
      keys = new Set(svc.realServers.map((r) => realServerKey(r)));
      this.servers.set(svc, keys);
    }
    return keys;
  }
}

function checkScheduler(svc: VirtualService): void {
  if (!KNOWN_SCHEDULERS.includes(svc.scheduler)) throw new SchedulerNotFoundError(svc.scheduler);
  if (svc.pe !== null && !KNOWN_PERSISTENCE_ENGINES.includes(svc.pe)) throw new SchedulerNotFoundError(svc.pe);
}

function applyOne(state: DesiredState, op: StateOp, index: TableIndex): void {
  switch (op.op) {
    case 'add-service': {
      if (index.service(op.service)) throw new ServiceExistsError(serviceKey(op.service));
      checkScheduler(op.service);
      const svc = structuredClone(op.service);
      state.services.push(svc);
      index.addService(svc);
      return;
    }
    case 'edit-service': {
      const svc = index.require(op.service);
      checkScheduler(op.service);
      Object.assign(svc, { ...structuredClone(op.service), realServers: svc.realServers });
      return;
    }
    case 'delete-service': {
      const svc = index.require(op.service);
      state.services.splice(state.services.indexOf(svc), 1);
      index.deleteService(svc);
      return;
    }
    case 'add-server': {
      const svc = index.require(op.service);
      const key = realServerKey(op.server);
      const keys = index.serverKeys(svc);
      if (keys.has(key)) throw new RealServerExistsError(serviceKey(svc), key);
      svc.realServers.push(structuredClone(op.server));
      keys.add(key);
      return;
    }
    case 'edit-server':
    case 'delete-server': {
      const svc = index.require(op.service);
      const key = realServerKey(op.server);
      const keys = index.serverKeys(svc);
      if (!keys.has(key)) throw new RealServerNotFoundError(serviceKey(svc), key);
      const i = svc.realServers.findIndex((r) => realServerKey(r) === key);
      if (op.op === 'edit-server') svc.realServers[i] = structuredClone(op.server);
      else {
        svc.realServers.splice(i, 1);
        keys.delete(key);
      }
      return;
    }
    case 'clear':
      state.services = [];
      index.rebuild();
      return;
    case 'zero':
      if (op.service) index.require(op.service);
      return;
    case 'set-timeouts': {
      const t = op.timeouts;
      state.timeouts = {
        tcp: t.tcp || state.timeouts.tcp,
        tcpfin: t.tcpfin || state.timeouts.tcpfin,
        udp: t.udp || state.timeouts.udp,
      };
      return;
    }
    case 'start-daemon':
      if (state.syncDaemons.some((d) => d.state === op.daemon.state)) throw new SyncDaemonError(op.daemon.state, true);
      state.syncDaemons.push(structuredClone(op.daemon));
      return;
    case 'stop-daemon': {
      const i = state.syncDaemons.findIndex((d) => d.state === op.state);
      if (i < 0) throw new SyncDaemonError(op.state, false);
      state.syncDaemons.splice(i, 1);
      return;
    }
    case 'replace':
      for (const s of op.services) checkScheduler(s);
      state.services = structuredClone(op.services);
      index.rebuild();
      return;
  }
}
