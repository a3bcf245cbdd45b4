/**
 * The one door to libbpf (libbpf.so.1, Debian's libbpf1) for the xdp dataplane: open and load a BPF object with
 * the verifier's log captured, attach/detach XDP, and the map and test-run syscalls. Like the libc door, the
 * library is loaded on first use, so nothing that never touches BPF pays for it.
 *
 * Calls return libbpf's convention: a negative errno on failure. Pointers to libbpf objects stay opaque
 * (koffi externals); buffers are Node Buffers passed by address.
 */
import { BpfError, bpfErrnoName } from './errors.js';
import { loadKoffi } from './libc.js';

/** XDP attach flags (include/uapi/linux/if_link.h). */
export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
export const XDP_FLAGS_SKB_MODE = 2;
export const XDP_FLAGS_DRV_MODE = 4;

/** Map update flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

/** XDP verdicts (enum xdp_action). */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;

type Ptr = unknown;

interface LibbpfCalls {
  setPrint(fn: null): Ptr;
  openFile(path: string, opts: null): Ptr | null;
  load(obj: Ptr): number;
  close(obj: Ptr): void;
  findProgram(obj: Ptr, name: string): Ptr | null;
  setLogBuf(prog: Ptr, buf: Buffer, size: number): number;
  setLogLevel(prog: Ptr, level: number): number;
  programFd(prog: Ptr): number;
  findMap(obj: Ptr, name: string): Ptr | null;
  mapFd(map: Ptr): number;
  setMaxEntries(map: Ptr, n: number): number;
  xdpAttach(ifindex: number, fd: number, flags: number, opts: null): number;
  xdpDetach(ifindex: number, flags: number, opts: null): number;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): number;
  mapLookup(fd: number, key: Buffer, value: Buffer): number;
  mapDelete(fd: number, key: Buffer): number;
  mapNextKey(fd: number, key: Buffer | null, next: Buffer): number;
  testRun(fd: number, opts: Buffer): number;
  lookupBatch(fd: number, inBatch: Buffer | null, outBatch: Buffer, keys: Buffer, values: Buffer, count: Buffer, opts: null): number;
  possibleCpus(): number;
  /** The id of the program attached in the mode `flags` names (XDP_FLAGS_DRV_MODE / _SKB_MODE), 0 for none. */
  xdpQueryId(ifindex: number, flags: number, id: number[]): number;
  mapFdById(id: number): number;
  progFdById(id: number): number;
  objInfo(fd: number, info: Buffer, len: number[]): number;
}

let calls: LibbpfCalls | undefined;
let loadError: Error | undefined;

/** The libbpf calls, or throws the reason libbpf.so.1 could not be loaded. */
export function libbpf(): LibbpfCalls {
  if (calls) return calls;
  if (loadError) throw loadError;
  const koffi = loadKoffi();
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libbpf.so.1');
  } catch (err) {
    loadError = new BpfError('dlopen libbpf.so.1', 0, `cannot load libbpf.so.1 (Debian package libbpf1): ${(err as Error).message}`);
    throw loadError;
  }
  const f = <T>(decl: string): T => lib.func(decl) as unknown as T;
  calls = {
    setPrint: f('void *libbpf_set_print(void *fn)'),
    openFile: f('void *bpf_object__open_file(const char *path, void *opts)'),
    load: f('int bpf_object__load(void *obj)'),
    close: f('void bpf_object__close(void *obj)'),
    findProgram: f('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
    setLogBuf: f('int bpf_program__set_log_buf(void *prog, void *buf, size_t size)'),
    setLogLevel: f('int bpf_program__set_log_level(void *prog, uint32_t level)'),
    programFd: f('int bpf_program__fd(void *prog)'),
    findMap: f('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
    mapFd: f('int bpf_map__fd(void *map)'),
    setMaxEntries: f('int bpf_map__set_max_entries(void *map, uint32_t n)'),
    xdpAttach: f('int bpf_xdp_attach(int ifindex, int fd, uint32_t flags, void *opts)'),
    xdpDetach: f('int bpf_xdp_detach(int ifindex, uint32_t flags, void *opts)'),
    mapUpdate: f('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
    mapLookup: f('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
    mapDelete: f('int bpf_map_delete_elem(int fd, void *key)'),
    mapNextKey: f('int bpf_map_get_next_key(int fd, void *key, void *next)'),
    testRun: f('int bpf_prog_test_run_opts(int fd, void *opts)'),
    lookupBatch: f('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)'),
    possibleCpus: f('int libbpf_num_possible_cpus(void)'),
    xdpQueryId: f('int bpf_xdp_query_id(int ifindex, int flags, _Out_ uint32_t *prog_id)'),
    mapFdById: f('int bpf_map_get_fd_by_id(uint32_t id)'),
    progFdById: f('int bpf_prog_get_fd_by_id(uint32_t id)'),
    objInfo: f('int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *len)'),
  };
  // libbpf prints to stderr by default; vsd reports through its own errors and logs instead.
  calls.setPrint(null);
  return calls;
}

/** errno after the last call, as a negative number (libbpf's pointer-returning calls set only errno). */
export function lastErrno(): number {
  return -loadKoffi().errno();
}

/** The result of one BPF_PROG_TEST_RUN. */
export interface TestRunResult {
  retval: number;
  data: Buffer;
  durationNs: number;
}

/**
 * Run `progFd` once over `packet` in the kernel (BPF_PROG_TEST_RUN). `ingressIfindex` sets xdp_md.ingress_ifindex
 * (the kernel resolves it in the caller's network namespace), which bpf_fib_lookup needs.
 */
export function testRunXdp(progFd: number, packet: Buffer, ingressIfindex = 0, repeat = 1): TestRunResult {
  const koffi = loadKoffi();
  const out = Buffer.alloc(packet.length + 256);
  // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex (u32 each).
  const ctx = Buffer.alloc(24);
  ctx.writeUInt32LE(packet.length, 4);
  ctx.writeUInt32LE(ingressIfindex, 12);
  // struct bpf_test_run_opts (libbpf 1.1, 80 bytes): sz, data_in, data_out, data_size_in, data_size_out, ctx_in,
  // ctx_out, ctx_size_in, ctx_size_out, retval, repeat, duration, flags, cpu, batch_size.
  const opts = Buffer.alloc(80);
  opts.writeBigUInt64LE(80n, 0);
  opts.writeBigUInt64LE(koffi.address(packet), 8);
  opts.writeBigUInt64LE(koffi.address(out), 16);
  opts.writeUInt32LE(packet.length, 24);
  opts.writeUInt32LE(out.length, 28);
  if (ingressIfindex > 0) {
    opts.writeBigUInt64LE(koffi.address(ctx), 32);
    opts.writeUInt32LE(ctx.length, 48);
  }
  opts.writeInt32LE(repeat, 60);
  const rc = libbpf().testRun(progFd, opts);
  if (rc < 0) throw new BpfError('BPF_PROG_TEST_RUN', -rc);
  const size = opts.readUInt32LE(28);
  return { retval: opts.readUInt32LE(56), data: Buffer.from(out.subarray(0, size)), durationNs: opts.readUInt32LE(64) };
}

/** "EINVAL (-22)" for a negative errno, from the one errno table (and ENOTSUPP for -524, which it lacks). */
export function bpfErrnoText(rc: number): string {
  return `${bpfErrnoName(rc)} (${rc})`;
}
