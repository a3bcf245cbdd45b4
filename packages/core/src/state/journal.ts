/**
 * Key-level view of a transaction, for the store's journal: which parts of the desired state it changed and to what.
 * A partition heal needs it twice: to tell whether a transaction of the losing side touched something the winner
 * changed too (a conflict), and to re-apply it on top of the winner's document when it did not, whatever operations
 * it was made of (a config reload's `replace` included).
 *
 * Keys: `timeouts`; `service|<service key>` (the service's options, its real servers excluded);
 * `server|<service key>|<real server key>` (one real server). A patch maps each changed key to its value after the
 * transaction, null when the transaction removed it.
 */
import { ServiceNotFoundError } from '../errors.js';
import { realServerKey, serviceIdOf, serviceKey } from '../model/keys.js';
import type { DesiredState, RealServer, Timeouts, VirtualService } from '../model/schema.js';
import type { StateOp } from './ops.js';

export type ServiceOptions = Omit<VirtualService, 'realServers'>;
export type PatchValue = ServiceOptions | RealServer | Timeouts | null;
export type Patch = Record<string, PatchValue>;

export const TIMEOUTS_KEY = 'timeouts';
export const serviceEntryKey = (svc: string): string => `service|${svc}`;
export const serverEntryKey = (svc: string, rs: string): string => `server|${svc}|${rs}`;

/** A service with the given options and no real servers (edit-service keeps the existing ones). */
function withoutServers(opts: ServiceOptions): VirtualService {
  return { ...opts, realServers: [] } as unknown as VirtualService;
}

function options(svc: VirtualService): ServiceOptions {
  const { realServers: _omit, ...rest } = svc;
  void _omit;
  return rest;
}

/** Structural equality of JSON-like values (key order ignored; undefined members equal absent ones). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameValue(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!sameValue(ao[k], bo[k])) return false;
  return true;
}

/** The service keys an operation may change; null = it may change any (clear, replace). */
function touchedServices(op: StateOp): string[] | null {
  switch (op.op) {
    case 'add-service':
    case 'edit-service':
    case 'delete-service':
    case 'add-server':
    case 'edit-server':
    case 'delete-server':
      return [serviceKey(op.service)];
    case 'clear':
    case 'replace':
      return null;
    default:
      return [];
  }
}

/** What a transaction changed, by key, from the documents before and after it. */
export function diffStates(before: Readonly<DesiredState>, after: Readonly<DesiredState>, ops: readonly StateOp[]): Patch {
  const patch: Patch = {};
  if (!sameValue(before.timeouts, after.timeouts)) patch[TIMEOUTS_KEY] = structuredClone(after.timeouts);
  let candidates: Set<string> | null = new Set();
  for (const op of ops) {
    const t = touchedServices(op);
    if (t === null) {
      candidates = null;
      break;
    }
    for (const k of t) candidates.add(k);
  }
  const index = (s: Readonly<DesiredState>, only: Set<string> | null): Map<string, VirtualService> => {
    const m = new Map<string, VirtualService>();
    for (const svc of s.services) {
      const k = serviceKey(svc);
      if (!only || only.has(k)) m.set(k, svc);
    }
    return m;
  };
  const was = index(before, candidates);
  const now = index(after, candidates);
  for (const k of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(k);
    const b = now.get(k);
    if (!b) patch[serviceEntryKey(k)] = null;
    else if (!a || !sameValue(options(a), options(b))) patch[serviceEntryKey(k)] = structuredClone(options(b));
    const rsA = new Map((a?.realServers ?? []).map((r) => [realServerKey(r), r]));
    const rsB = new Map((b?.realServers ?? []).map((r) => [realServerKey(r), r]));
    for (const rk of new Set([...rsA.keys(), ...rsB.keys()])) {
      const x = rsA.get(rk);
      const y = rsB.get(rk);
      if (!y) patch[serverEntryKey(k, rk)] = null;
      else if (!x || !sameValue(x, y)) patch[serverEntryKey(k, rk)] = structuredClone(y);
    }
  }
  return patch;
}

/** The value a key has in a document (null: absent). */
export function keyValue(state: Readonly<DesiredState>, key: string): PatchValue {
  if (key === TIMEOUTS_KEY) return state.timeouts;
  const [kind, svcKey, rsKey] = key.split('|');
  const svc = state.services.find((s) => serviceKey(s) === svcKey);
  if (!svc) return null;
  if (kind === 'service') return options(svc);
  return svc.realServers.find((r) => realServerKey(r) === rsKey) ?? null;
}

/**
 * Operations that give the keys of `patch` their patched values on top of `base`, and touch nothing else. They fail
 * (here or at apply time) where the base no longer allows them, e.g. a real server for a service the winner deleted.
 */
export function patchToOps(patch: Readonly<Patch>, base: Readonly<DesiredState>): StateOp[] {
  const ops: StateOp[] = [];
  const services = new Map(base.services.map((s) => [serviceKey(s), s]));
  const deleted = new Set<string>();
  // Services first (a new service must exist before its real servers), real servers after.
  for (const [key, value] of Object.entries(patch)) {
    if (key === TIMEOUTS_KEY) {
      if (value) ops.push({ op: 'set-timeouts', timeouts: value as Timeouts });
      continue;
    }
    const [kind, svcKey] = key.split('|');
    if (kind !== 'service') continue;
    const cur = services.get(svcKey!);
    if (value === null) {
      if (cur) ops.push({ op: 'delete-service', service: serviceIdOf(cur) });
      deleted.add(svcKey!);
    } else ops.push({ op: cur ? 'edit-service' : 'add-service', service: withoutServers(value as ServiceOptions) });
  }
  for (const [key, value] of Object.entries(patch)) {
    const [kind, svcKey, rsKey] = key.split('|');
    if (kind !== 'server' || deleted.has(svcKey!)) continue;
    const svcValue = patch[serviceEntryKey(svcKey!)] as ServiceOptions | undefined;
    const known = (svcValue ?? services.get(svcKey!)) as VirtualService | undefined;
    if (!known) {
      // The service is gone on the base and the patch does not bring it back.
      if (value) throw new ServiceNotFoundError(svcKey!);
      continue;
    }
    // Operations carry the service's identity only, as the control API does: they replicate and validate as such.
    const id = serviceIdOf(known);
    const cur = services.get(svcKey!)?.realServers.find((r) => realServerKey(r) === rsKey);
    if (value === null) {
      if (cur) ops.push({ op: 'delete-server', service: id, server: { address: cur.address, port: cur.port } });
    } else ops.push({ op: cur ? 'edit-server' : 'add-server', service: id, server: value as RealServer });
  }
  return ops;
}
