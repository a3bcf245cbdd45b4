/**
 * The BPF decapsulator for TUN real servers on kernels without ipip (bpf/rs_decap.c): what setup needs of it,
 * behind one interface so setup's logic is unit-tested against a fake, and the real one over libbpf (@vsd/sys).
 *
 * Nothing is pinned in bpffs: the XDP attachment holds the program and the program its maps. A later setup-tun or
 * teardown finds them again by the ids recorded in the state file (bpf_map_get_fd_by_id), and checks the name and
 * the attached program id first, so a stale record never touches someone else's program.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BpfError, BpfMap, BpfObject, closeFd, libc, mapFdById, mapInfo, progFdById, progInfo, xdpAttachFd, xdpDetachMode, xdpProgId } from '@vsd/sys';

/** Address kinds in vsd_decap_addrs (values of rs_decap.c's ADDR_VIP and ADDR_LOCAL). */
export const ADDR_VIP = 1;
export const ADDR_LOCAL = 2;

export const DECAP_PROGRAM = 'vsd_rs_decap';
export const DECAP_ADDRS_MAP = 'vsd_decap_addrs';
export const DECAP_CONF_MAP = 'vsd_decap_conf';
export const DECAP_STATS_MAP = 'vsd_decap_stats';

/** Counters of vsd_decap_stats, in index order (enum decap_stat). */
export const DECAP_STATS = ['decapIpip', 'decapGue', 'notOurs', 'fragment', 'malformed', 'ecnDrop'] as const;
export type DecapStats = Record<(typeof DECAP_STATS)[number], number>;

/** Compiled by scripts/build-bpf.mjs; the same path from src/setup and dist/setup. */
export const DECAP_OBJECT = fileURLToPath(new URL('../../dist/bpf/rs_decap.o', import.meta.url));

export type AttachMode = 'native' | 'generic';

export interface DecapAttachment {
  mode: AttachMode;
  progId: number;
  addrsMapId: number;
  confMapId: number;
  statsMapId: number;
}

export interface DecapHost {
  /** 0 when the interface does not exist. */
  ifindex(dev: string): number;
  /** Id of the XDP program attached to the interface in `mode`, 0 for none. */
  attachedProgId(ifindex: number, mode: AttachMode): number;
  /** Load the decapsulator, fill its local addresses and GUE port, attach (refusing if a program is there). */
  attach(ifindex: number, local: readonly string[], guePort: number): DecapAttachment;
  detach(ifindex: number, mode: AttachMode): void;
  /** The name of the map with this id, or null when no such map exists (any more). */
  mapName(mapId: number): string | null;
  /** The name of the program with this id, or null. */
  progName(progId: number): string | null;
  /** Address kinds of `addr` in the addrs map (0: not there). */
  addrKinds(mapId: number, addr: string): number;
  setAddrKinds(mapId: number, addr: string, kinds: number): void;
  guePort(confMapId: number): number;
  setGuePort(confMapId: number, port: number): void;
  stats(statsMapId: number): DecapStats;
}

function addrKey(addr: string): Buffer {
  return Buffer.from(addr.split('.').map(Number));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

const ZERO = u32(0);

/** The map with this id, opened for `fn` (key and value sizes as rs_decap.c declares them). */
function withMap<T>(mapId: number, fn: (m: BpfMap) => T, valueSize = 4): T {
  const fd = mapFdById(mapId);
  try {
    return fn(new BpfMap(`map id ${mapId}`, fd, 4, valueSize));
  } finally {
    closeFd(fd);
  }
}

/** The real decapsulator host: libbpf through koffi. */
export function bpfDecapHost(objectPath = DECAP_OBJECT): DecapHost {
  return {
    ifindex: (dev) => libc().if_nametoindex(dev),
    attachedProgId: (ifindex, mode) => xdpProgId(ifindex, mode),
    attach(ifindex, local, guePort) {
      const obj = BpfObject.load(objectPath, DECAP_PROGRAM);
      try {
        const addrs = obj.mapFd(DECAP_ADDRS_MAP);
        const addrMap = new BpfMap(DECAP_ADDRS_MAP, addrs, 4, 4);
        for (const a of local) addrMap.update(addrKey(a), u32(ADDR_LOCAL));
        const conf = obj.mapFd(DECAP_CONF_MAP);
        new BpfMap(DECAP_CONF_MAP, conf, 4, 4).update(ZERO, u32(guePort));
        const stats = obj.mapFd(DECAP_STATS_MAP);
        const prog = obj.progFd(DECAP_PROGRAM);
        const mode = xdpAttachFd(ifindex, prog, 'auto');
        return { mode, progId: progInfo(prog).id, addrsMapId: mapInfo(addrs).id, confMapId: mapInfo(conf).id, statsMapId: mapInfo(stats).id };
      } finally {
        // The attachment keeps the program, and the program its maps.
        obj.close();
      }
    },
    detach: (ifindex, mode) => xdpDetachMode(ifindex, mode),
    mapName(mapId) {
      try {
        return withMap(mapId, (m) => mapInfo(m.fd).name);
      } catch (err) {
        if (err instanceof BpfError && err.details.errnoName === 'ENOENT') return null;
        throw err;
      }
    },
    progName(progId) {
      let fd = -1;
      try {
        fd = progFdById(progId);
        return progInfo(fd).name;
      } catch (err) {
        if (err instanceof BpfError && err.details.errnoName === 'ENOENT') return null;
        throw err;
      } finally {
        closeFd(fd);
      }
    },
    addrKinds: (mapId, addr) => withMap(mapId, (m) => m.lookup(addrKey(addr))?.readUInt32LE(0) ?? 0),
    setAddrKinds(mapId, addr, kinds) {
      withMap(mapId, (m) => {
        if (kinds === 0) m.delete(addrKey(addr));
        else m.update(addrKey(addr), u32(kinds));
      });
    },
    guePort: (confMapId) => withMap(confMapId, (m) => m.lookup(ZERO)?.readUInt32LE(0) ?? 0),
    setGuePort(confMapId, port) {
      withMap(confMapId, (m) => m.update(ZERO, u32(port)));
    },
    stats(statsMapId) {
      // A per-CPU map reads back one 8-byte value per possible CPU.
      const cpus = possibleCpus();
      return withMap(
        statsMapId,
        (m) => {
          const out = {} as DecapStats;
          DECAP_STATS.forEach((name, i) => {
            const v = m.lookup(u32(i));
            let sum = 0n;
            for (let c = 0; v && c < cpus; c++) sum += v.readBigUInt64LE(8 * c);
            out[name] = Number(sum);
          });
          return out;
        },
        8 * cpus,
      );
    },
  };
}

/** Number of possible CPUs (/sys/devices/system/cpu/possible, "0-3" or "0,2-5"), as per-CPU maps size their values. */
export function possibleCpus(text?: string): number {
  let t = text;
  if (t === undefined) {
    try {
      t = readFileSync('/sys/devices/system/cpu/possible', 'utf8');
    } catch {
      return 1;
    }
  }
  let n = 0;
  for (const part of t.trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    n = Math.max(n, (b ?? a!) + 1);
  }
  return Math.max(1, n);
}
