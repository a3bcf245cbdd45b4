/**
 * Loads vsd's XDP object (packages/core/bpf/xdp_lb.c, compiled by scripts/build-bpf.sh into dist/bpf/) through
 * libbpf, attaches it to an interface and hands out its maps. Every failure is an XdpLoadError naming the
 * interface and the reason; a program the verifier refuses carries the tail of the verifier's log.
 */
import { fileURLToPath } from 'node:url';
import { invariant, XdpLoadError } from '../../errors.js';
import { BpfError, BpfMap, bpfErrnoText, libbpf, libc, openAndLoad, testRunXdp, xdpAttachFd, xdpModeFlag, type TestRunResult } from '@vsd/sys';

export type XdpMode = 'native' | 'generic' | 'auto';
export type XdpAttachedMode = 'native' | 'generic';

/** Where the build leaves the object: packages/core/dist/bpf/xdp_lb.o (the same from src/ and dist/). */
export const DEFAULT_XDP_OBJECT = fileURLToPath(new URL('../../../dist/bpf/xdp_lb.o', import.meta.url));
export const XDP_PROGRAM_NAME = 'vsd_xdp_lb';

export interface XdpProgramOptions {
  /** The interface the program is for, named in errors. */
  iface: string;
  objectPath?: string;
  /** Connection-table entries (vsd_conns max_entries). */
  connTableSize?: number;
}

interface MapShape {
  keySize: number;
  valueSize: number;
  perCpu: boolean;
}

/** Key and value sizes of the maps in xdp_lb.h (the object's BTF says the same). */
const MAPS: Record<string, MapShape> = {
  vsd_services: { keySize: 20, valueSize: 16, perCpu: false },
  vsd_ring: { keySize: 4, valueSize: 4, perCpu: false },
  vsd_seq_pos: { keySize: 4, valueSize: 8, perCpu: false },
  vsd_dests: { keySize: 4, valueSize: 28, perCpu: false },
  vsd_conns: { keySize: 40, valueSize: 16, perCpu: false },
  vsd_stats: { keySize: 4, valueSize: 24, perCpu: true },
  vsd_config: { keySize: 4, valueSize: 24, perCpu: false },
};
export type XdpMapName = keyof typeof MAPS;

/** The loaded program and its maps; attach() puts it on an interface. */
export class XdpProgram {
  private attached: { ifindex: number; mode: XdpAttachedMode } | null = null;
  private readonly maps = new Map<string, BpfMap>();
  readonly possibleCpus: number;

  private constructor(
    private obj: unknown,
    readonly progFd: number,
    readonly iface: string,
  ) {
    this.possibleCpus = libbpf().possibleCpus();
  }

  /** Open and load the object: the kernel verifies the program here. */
  static load(options: XdpProgramOptions): XdpProgram {
    const iface = options.iface;
    const path = options.objectPath ?? DEFAULT_XDP_OBJECT;
    const { lib, obj, prog } = openAndLoad(
      path,
      XDP_PROGRAM_NAME,
      (f) => {
        switch (f.stage) {
          case 'missing':
            return new XdpLoadError(
              iface,
              'object',
              `BPF object ${path} is missing: the build compiles it with clang (apt-get install clang llvm libbpf-dev) and skipped it; run pnpm build again once clang is installed`,
            );
          case 'libbpf':
            return new XdpLoadError(iface, 'libbpf', f.message);
          case 'open':
            return new XdpLoadError(iface, 'object', `cannot open BPF object ${path}: ${bpfErrnoText(f.rc)}`);
          case 'program':
            return new XdpLoadError(iface, 'object', `BPF object ${path} has no program ${XDP_PROGRAM_NAME}`);
          case 'load': {
            const tail = verifierTail(f.log);
            return new XdpLoadError(iface, 'load', `the kernel refused the BPF program (${bpfErrnoText(f.rc)})${tail ? `: ${tail.reason}` : ''}`, tail?.log);
          }
        }
      },
      ({ lib, obj }) => {
        if (options.connTableSize === undefined) return;
        const conns = lib.findMap(obj, 'vsd_conns');
        if (conns) lib.setMaxEntries(conns, options.connTableSize);
      },
    );
    const fd = lib.programFd(prog);
    const program = new XdpProgram(obj, fd, iface);
    for (const [name, shape] of Object.entries(MAPS)) {
      const m = lib.findMap(obj, name);
      const mfd = m ? lib.mapFd(m) : -1;
      if (mfd < 0) {
        program.close();
        throw new XdpLoadError(iface, 'object', `BPF object ${path} has no map ${name}`);
      }
      program.maps.set(name, new BpfMap(name, mfd, shape.keySize, shape.valueSize, shape.perCpu ? program.possibleCpus : 0));
    }
    return program;
  }

  map(name: XdpMapName): BpfMap {
    const m = this.maps.get(name);
    invariant(m, () => `xdp program on ${this.iface}: map ${name} asked for after close() or not in MAPS`);
    return m;
  }

  /**
   * Attach to `iface` (by name, in this thread's network namespace). `auto` tries native (driver) mode and falls
   * back to generic (skb) mode by @vsd/sys's one rule (xdpAttachFd): not when a program is already there or BPF is
   * not permitted. Refuses to replace a program someone else attached. Returns the mode in use.
   */
  attach(mode: XdpMode): XdpAttachedMode {
    const ifindex = interfaceIndex(this.iface);
    if (ifindex === 0) throw new XdpLoadError(this.iface, 'attach', `no interface ${this.iface} in this network namespace`);
    try {
      const attached = xdpAttachFd(ifindex, this.progFd, mode);
      this.attached = { ifindex, mode: attached };
      return attached;
    } catch (err) {
      if (!(err instanceof BpfError) || err.details.call !== 'bpf_xdp_attach') throw err;
      const d = err.details as { mode: XdpAttachedMode; errnoValue: number; nativeErrnoName?: string };
      const native = d.nativeErrnoName ? ` (native mode was refused first: ${d.nativeErrnoName})` : '';
      throw new XdpLoadError(this.iface, 'attach', `cannot attach XDP in ${d.mode} mode: ${attachReason(-d.errnoValue, mode)}${native}`);
    }
  }

  detach(): void {
    if (!this.attached) return;
    const { ifindex, mode } = this.attached;
    this.attached = null;
    // The mode flag alone: detaching with XDP_FLAGS_UPDATE_IF_NOEXIST would be refused.
    libbpf().xdpDetach(ifindex, xdpModeFlag(mode), null);
  }

  /** One BPF_PROG_TEST_RUN of the program over a frame (tests; needs root, not an attached interface). */
  testRun(frame: Buffer, ingressIfindex = 0): TestRunResult {
    return testRunXdp(this.progFd, frame, ingressIfindex);
  }

  close(): void {
    this.detach();
    if (this.obj) {
      libbpf().close(this.obj);
      this.obj = null;
      this.maps.clear();
    }
  }
}

function attachReason(rc: number, asked: XdpMode): string {
  if (rc === -16 || rc === -17) return `${bpfErrnoText(rc)}: another XDP program is attached to the interface`;
  if ((rc === -95 || rc === -524) && asked === 'native') return `${bpfErrnoText(rc)}: the driver has no native XDP (use mode generic or auto)`;
  return bpfErrnoText(rc);
}

/** The verifier's reason (its last lines before the statistics) and a bounded tail of the log. */
export function verifierTail(text: string): { reason: string; log: string } | null {
  const lines = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0);
  if (lines.length === 0) return null;
  const meaningful = lines.filter((l) => !/^processed \d+ insns|^-- END|^verification time/.test(l));
  const reason = meaningful.slice(-1)[0] ?? lines[lines.length - 1]!;
  return { reason, log: lines.slice(-30).join('\n') };
}

/** if_nametoindex(3): 0 when there is no such interface. */
export function interfaceIndex(name: string): number {
  return libc().if_nametoindex(name);
}
