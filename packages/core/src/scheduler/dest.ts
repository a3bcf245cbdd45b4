/**
 * Construction of {@link SchedDest} objects and the availability tests shared by the schedulers.
 *
 * Every SchedDest is built here with the same fields in the same order, so that the schedulers' loops see one
 * object shape (monomorphic property access is what keeps a 1,000-server scan fast).
 */
import { foldAddress, hostPort } from '../model/address.js';
import type { SchedDest, SchedPacket } from './types.js';

export interface SchedDestInit {
  address: string;
  port: number;
  weight?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
}

export function createSchedDest(init: SchedDestInit): SchedDest {
  return {
    key: hostPort(init.address, init.port),
    address: init.address,
    port: init.port,
    addrFold: foldAddress(init.address),
    weight: init.weight ?? 1,
    activeConns: 0,
    inactiveConns: 0,
    persistConns: 0,
    upperThreshold: init.upperThreshold ?? 0,
    lowerThreshold: init.lowerThreshold ?? 0,
    overloaded: false,
  };
}

/** A packet for the hashing schedulers; addresses are folded as {@link SchedDest.addrFold}. */
export function createSchedPacket(saddr = 0, sport = 0, daddr = 0, dport = 0): SchedPacket {
  return { saddr, sport, daddr, dport };
}

/** The "is_unavailable" test of sh/mh/dh, negated: weight > 0 and not overloaded. */
export function isAvailable(dest: SchedDest): boolean {
  return dest.weight > 0 && !dest.overloaded;
}
