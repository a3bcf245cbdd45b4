/**
 * Which engine thread a new connection reaches when several threads share a TCP virtual service (`threads` > 1).
 *
 * Every thread listens on VIP:port in one SO_REUSEPORT group, and each thread schedules the connections its own
 * listener accepts. A persistent service must send all of a client's connections (all of its netmask's, for
 * `-M`) to the same thread, or that thread's persistence template would not be seen by the others: the group
 * gets a classic BPF program that picks the listener from the client's source address, masked to the service's
 * persistence netmask, folded and mixed — the same value {@link steerIndex} computes here, so a template learnt
 * from the peer is installed in the thread that will see that client. Services without persistence return an
 * out-of-range index, which makes the kernel use its own hash of addresses and ports (the fairest spread).
 */
import { familyOf, foldAddress, maskAddress } from '../../../model/address.js';
import type { InetService } from '../../../model/schema.js';
import type { SockFilter } from '@vsd/sys';

/** Fibonacci hashing's multiplier: masked addresses differ in their high bits, the product spreads them to all. */
const MIX = 0x9e3779b1;
/** SKF_NET_OFF (-0x100000): loads relative to the IP header; a reuseport program's data starts after TCP's. */
const NET = 0xfff00000;
const LD_W_ABS = 0x20;
const ALU_AND_K = 0x54;
const ALU_XOR_X = 0xac;
const ALU_MUL_K = 0x24;
const ALU_RSH_K = 0x74;
const ALU_MOD_K = 0x94;
const MISC_TAX = 0x07;
const RET_A = 0x16;
const RET_K = 0x06;
/** Past any group's size: "no choice", the kernel hashes. */
const KERNEL_HASH = 0xffffffff;

const ins = (code: number, k = 0): SockFilter => ({ code, jt: 0, jf: 0, k });

/** The persistence prefix a service steers by, or null when it is not persistent. */
export function steeringPrefix(service: InetService): number | null {
  if (!service.persistence.timeout) return null;
  return service.persistence.netmask ?? (familyOf(service.address) === 'inet6' ? 128 : 32);
}

/** The listener index (0..groups-1) of a client address, as the program of {@link steeringProgram} computes it. */
export function steerIndex(client: string, prefix: number, groups: number): number {
  const folded = foldAddress(maskAddress(client, prefix));
  return (Math.imul(folded, MIX) >>> 16) % groups;
}

/** The reuseport program for a group of `groups` listeners of `family` (4 or 6), steering by `prefix` or not at all. */
export function steeringProgram(family: 4 | 6, prefix: number | null, groups: number): SockFilter[] {
  if (prefix === null || groups < 2) return [ins(RET_K, KERNEL_HASH)];
  const words = family === 4 ? 1 : 4;
  // The source address: IPv4 at byte 12 of the header, IPv6 at byte 8.
  const first = family === 4 ? 12 : 8;
  const prog: SockFilter[] = [];
  let loaded = 0;
  for (let w = 0; w < words; w++) {
    const bits = Math.max(0, Math.min(32, prefix - w * 32));
    if (bits === 0) continue;
    if (loaded > 0) prog.push(ins(MISC_TAX));
    prog.push(ins(LD_W_ABS, NET + first + 4 * w));
    if (bits < 32) prog.push(ins(ALU_AND_K, (0xffffffff << (32 - bits)) >>> 0));
    if (loaded > 0) prog.push(ins(ALU_XOR_X));
    loaded++;
  }
  // A prefix of 0: one bucket for everybody, index (MIX * 0 >> 16) % groups = 0.
  if (loaded === 0) return [ins(RET_K, 0)];
  prog.push(ins(ALU_MUL_K, MIX), ins(ALU_RSH_K, 16), ins(ALU_MOD_K, groups), ins(RET_A));
  return prog;
}
