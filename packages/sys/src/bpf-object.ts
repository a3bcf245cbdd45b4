/**
 * Generic BPF objects over the libbpf door (./libbpf.ts), for programs other than the xdp dataplane's: open and load
 * any object (a verifier refusal carries its log), attach an XDP program and leave it attached when the process
 * exits, find it again from another process by id (bpf_xdp_query_id, bpf_map_get_fd_by_id) and read its maps'
 * names. vsd-agent's real-server decapsulator uses it. Every failure is a BpfError naming the call and the errno.
 */
import { existsSync } from 'node:fs';
import { BpfError, bpfErrnoName } from './errors.js';
import { libc } from './libc.js';
import { lastErrno, libbpf, XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_UPDATE_IF_NOEXIST } from './libbpf.js';

export type XdpAttachMode = 'native' | 'generic';

const LOG_SIZE = 1 << 20;

function check(call: string, rc: number, details: Record<string, unknown> = {}): number {
  if (rc < 0) throw new BpfError(call, -rc, undefined, details);
  return rc;
}

function door(): ReturnType<typeof libbpf> {
  try {
    return libbpf();
  } catch (err) {
    throw new BpfError('load libbpf.so.1', 2, (err as Error).message);
  }
}

/** Why openAndLoad() stopped; each caller turns it into its own catalogue error. rc is a negative errno. */
export type BpfLoadFailure =
  | { stage: 'missing' }
  | { stage: 'libbpf'; message: string }
  | { stage: 'open'; rc: number }
  | { stage: 'program' }
  | { stage: 'load'; rc: number; log: string };

/** An opened and loaded object: the libbpf calls, the object and the named program. */
export interface LoadedBpf {
  lib: ReturnType<typeof libbpf>;
  obj: unknown;
  prog: unknown;
}

/**
 * Open `path` and load it with a verifier log buffer on `program`: log level 0 with a buffer makes libbpf load
 * without a log and, only when that fails, load again at level 1 into it, so a refused program comes back with
 * the verifier's reason and a good one costs nothing. `prepare` runs between open and load (map sizes).
 * Every failure goes through `fail`, which returns the error to throw; the object is closed first.
 */
export function openAndLoad(path: string, program: string, fail: (failure: BpfLoadFailure) => Error, prepare?: (loaded: LoadedBpf) => void): LoadedBpf {
  if (!existsSync(path)) throw fail({ stage: 'missing' });
  let lib: ReturnType<typeof libbpf>;
  try {
    lib = libbpf();
  } catch (err) {
    throw fail({ stage: 'libbpf', message: (err as Error).message });
  }
  const obj = lib.openFile(path, null);
  if (!obj) throw fail({ stage: 'open', rc: lastErrno() });
  const prog = lib.findProgram(obj, program);
  if (!prog) {
    lib.close(obj);
    throw fail({ stage: 'program' });
  }
  const log = Buffer.alloc(LOG_SIZE);
  lib.setLogBuf(prog, log, log.length);
  lib.setLogLevel(prog, 0);
  prepare?.({ lib, obj, prog });
  const rc = lib.load(obj);
  if (rc < 0) {
    lib.close(obj);
    throw fail({ stage: 'load', rc, log: log.toString('utf8', 0, Math.max(0, log.indexOf(0))) });
  }
  return { lib, obj, prog };
}

/** A loaded object; close() unloads what nothing else (an XDP attachment) holds. */
export class BpfObject {
  private obj: unknown;

  private constructor(
    obj: unknown,
    readonly path: string,
  ) {
    this.obj = obj;
  }

  /** Open `path` and load it, with a verifier log buffer on `program` (retried at level 1 only when refused). */
  static load(path: string, program: string): BpfObject {
    const { obj } = openAndLoad(path, program, (f) => {
      switch (f.stage) {
        case 'missing':
          return new BpfError('bpf_object__open_file', 2, `${path} does not exist (the build compiles it with clang: pnpm build)`, { path });
        case 'libbpf':
          return new BpfError('load libbpf.so.1', 2, f.message);
        case 'open':
          return new BpfError('bpf_object__open_file', -f.rc, undefined, { path });
        case 'program':
          return new BpfError('bpf_object__find_program_by_name', 2, `no program ${program} in ${path}`, { path });
        case 'load': {
          const text = f.log.trim();
          return new BpfError('bpf_object__load', -f.rc, text ? `the verifier refused ${program}: ${text.slice(-2000)}` : undefined, { path });
        }
      }
    });
    return new BpfObject(obj, path);
  }

  progFd(name: string): number {
    const p = this.obj ? door().findProgram(this.obj, name) : null;
    if (!p) throw new BpfError('bpf_object__find_program_by_name', 2, `no program ${name} in ${this.path}`);
    return check('bpf_program__fd', door().programFd(p));
  }

  mapFd(name: string): number {
    const m = this.obj ? door().findMap(this.obj, name) : null;
    if (!m) throw new BpfError('bpf_object__find_map_by_name', 2, `no map ${name} in ${this.path}`);
    return check('bpf_map__fd', door().mapFd(m));
  }

  close(): void {
    if (this.obj) door().close(this.obj);
    this.obj = null;
  }
}

/** The attach (and detach) flag of a mode: XDP_FLAGS_DRV_MODE for native (in the driver), XDP_FLAGS_SKB_MODE for generic. */
export function xdpModeFlag(mode: XdpAttachMode): number {
  return mode === 'native' ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
}

/**
 * Whether 'auto' goes on to generic mode after native mode was refused with `errno` (positive). Not when a program is
 * there (EBUSY: in native mode; EEXIST: in generic mode, which the kernel does not run beside a native one), nor when
 * BPF is not permitted (EPERM, EACCES): generic would be refused too, and the error would name the wrong mode. Any
 * other refusal (EOPNOTSUPP or ENOTSUPP: the driver has no native XDP; EINVAL, ENOMEM, ERANGE: it refuses this setup,
 * its MTU or queues) leaves generic mode, which every device has, worth a try.
 */
function genericAfterNative(errno: number): boolean {
  return errno !== 16 && errno !== 17 && errno !== 1 && errno !== 13;
}

/**
 * Attach `progFd` to `ifindex`, refusing if a program is there (EBUSY, or EEXIST when it is in the other mode). 'auto'
 * is native, else generic when native was refused for a reason generic mode may not have (see genericAfterNative).
 * The one XDP attach of vsd: the xdp dataplane's loader and vsd-agent's decapsulator both go through it. Returns the
 * mode in use; detach with that mode's flag. The attachment outlives the process and the object. A refusal is a
 * BpfError whose `details.mode` is the mode refused last and, after a fallback, `details.nativeErrnoName` says why
 * native mode was refused.
 */
export function xdpAttachFd(ifindex: number, progFd: number, mode: XdpAttachMode | 'auto'): XdpAttachMode {
  const first: XdpAttachMode = mode === 'generic' ? 'generic' : 'native';
  const rc = door().xdpAttach(ifindex, progFd, XDP_FLAGS_UPDATE_IF_NOEXIST | xdpModeFlag(first), null);
  if (rc === 0) return first;
  if (mode !== 'auto' || !genericAfterNative(-rc)) throw new BpfError('bpf_xdp_attach', -rc, undefined, { ifindex, mode: first });
  const again = door().xdpAttach(ifindex, progFd, XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE, null);
  if (again === 0) return 'generic';
  throw new BpfError('bpf_xdp_attach', -again, undefined, { ifindex, mode: 'generic', nativeErrnoName: bpfErrnoName(-rc) });
}

/** Id of the XDP program attached to `ifindex` in `mode`, 0 for none. */
export function xdpProgId(ifindex: number, mode: XdpAttachMode): number {
  const id = [0];
  check('bpf_xdp_query_id', door().xdpQueryId(ifindex, xdpModeFlag(mode), id), { ifindex });
  return id[0]!;
}

export function xdpDetachMode(ifindex: number, mode: XdpAttachMode): void {
  check('bpf_xdp_detach', door().xdpDetach(ifindex, xdpModeFlag(mode), null), { ifindex, mode });
}

/** A new fd for the map with this id (ENOENT once it is gone); close it with closeFd. */
export function mapFdById(id: number): number {
  return check('bpf_map_get_fd_by_id', door().mapFdById(id), { id });
}

export function progFdById(id: number): number {
  return check('bpf_prog_get_fd_by_id', door().progFdById(id), { id });
}

export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('latin1', 0, nul < 0 ? b.length : nul);
}

/** struct bpf_map_info (uapi): type, id, key_size, value_size, max_entries, map_flags, name[16] at 24. */
export function mapInfo(fd: number): { type: number; id: number; keySize: number; valueSize: number; maxEntries: number; name: string } {
  const b = Buffer.alloc(96);
  check('bpf_obj_get_info_by_fd', door().objInfo(fd, b, [b.length]));
  return {
    type: b.readUInt32LE(0),
    id: b.readUInt32LE(4),
    keySize: b.readUInt32LE(8),
    valueSize: b.readUInt32LE(12),
    maxEntries: b.readUInt32LE(16),
    name: cString(b.subarray(24, 40)),
  };
}

/** struct bpf_prog_info (uapi): type, id, tag[8], ... name[16] at 64. */
export function progInfo(fd: number): { type: number; id: number; name: string } {
  const b = Buffer.alloc(256);
  check('bpf_obj_get_info_by_fd', door().objInfo(fd, b, [b.length]));
  return { type: b.readUInt32LE(0), id: b.readUInt32LE(4), name: cString(b.subarray(64, 80)) };
}
