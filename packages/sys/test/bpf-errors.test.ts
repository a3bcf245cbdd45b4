// The libbpf door's failures as catalogue errors, and the one XDP attach rule, with libbpf itself stood in for: what
// the kernel answers is set per test, so every errno path runs without root or a BPF-capable kernel.
import { afterEach, describe, expect, it, vi } from 'vitest';

const calls: { attach: Array<[number, number, number]>; rc: Record<string, number[]> } = { attach: [], rc: {} };
const next = (name: string): number => calls.rc[name]?.shift() ?? 0;

vi.mock('../src/libbpf.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/libbpf.js')>();
  return {
    ...real,
    libbpf: () => ({
      mapUpdate: () => next('update'),
      mapLookup: () => next('lookup'),
      mapDelete: () => next('delete'),
      mapNextKey: () => next('nextKey'),
      lookupBatch: () => next('batch'),
      xdpAttach: (ifindex: number, fd: number, flags: number) => {
        calls.attach.push([ifindex, fd, flags]);
        return next('attach');
      },
    }),
  };
});

const { BpfMap } = await import('../src/bpf-map.js');
const { xdpAttachFd, xdpModeFlag } = await import('../src/bpf-object.js');
const { BpfError, UnsupportedPlatformError } = await import('../src/errors.js');
const { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_UPDATE_IF_NOEXIST } = await import('../src/libbpf.js');
const { attachReuseportProgram } = await import('../src/net.js');

afterEach(() => {
  calls.attach = [];
  calls.rc = {};
});

function thrown(fn: () => unknown): InstanceType<typeof BpfError> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BpfError);
    return err as InstanceType<typeof BpfError>;
  }
  throw new Error('expected a BpfError');
}

describe('BpfMap failures', () => {
  const m = new BpfMap('vsd_conns', 7, 4, 4);

  it('are BpfErrors naming the call, the map and the errno once', () => {
    calls.rc.update = [-7];
    const e = thrown(() => m.update(Buffer.alloc(4), Buffer.alloc(4)));
    expect(e.code).toBe('VSD_ERR_BPF');
    expect(e.message).toBe('bpf_map_update_elem (map vsd_conns) failed: Argument list too long (E2BIG)');
    expect(e.details).toMatchObject({ call: 'bpf_map_update_elem', map: 'vsd_conns', errnoValue: 7, errnoName: 'E2BIG' });
    calls.rc.lookup = [-22];
    expect(thrown(() => m.lookup(Buffer.alloc(4))).message).toBe('bpf_map_lookup_elem (map vsd_conns) failed: Invalid argument (EINVAL)');
    calls.rc.delete = [-1];
    expect(thrown(() => m.delete(Buffer.alloc(4))).message).toBe(
      'bpf_map_delete_elem (map vsd_conns) failed: Operation not permitted (EPERM): BPF is not permitted here (needs root or CAP_BPF and CAP_NET_ADMIN)',
    );
    calls.rc.nextKey = [-9];
    expect(thrown(() => m.keys()).message).toBe('bpf_map_get_next_key (map vsd_conns) failed: Bad file descriptor (EBADF)');
    // A batch read that fails after its first chunk cannot fall back to get_next_key.
    calls.rc.batch = [0, -12];
    expect(thrown(() => m.entries(1 << 22, 1)).details).toMatchObject({ call: 'bpf_map_lookup_batch', map: 'vsd_conns', errnoName: 'ENOMEM' });
  });

  it('absent keys are answers, not errors', () => {
    calls.rc.lookup = [-2];
    calls.rc.delete = [-2];
    calls.rc.nextKey = [-2];
    expect(m.lookup(Buffer.alloc(4))).toBeNull();
    expect(m.delete(Buffer.alloc(4))).toBe(false);
    expect(m.keys()).toEqual([]);
  });
});

describe('xdpAttachFd, the one XDP attach rule', () => {
  const native = XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_DRV_MODE;
  const generic = XDP_FLAGS_UPDATE_IF_NOEXIST | XDP_FLAGS_SKB_MODE;

  it('auto is native when the driver takes it', () => {
    expect(xdpAttachFd(3, 9, 'auto')).toBe('native');
    expect(calls.attach).toEqual([[3, 9, native]]);
  });

  it('auto goes on to generic after native is unsupported or refused for this setup', () => {
    for (const rc of [-95, -524, -22, -12, -34]) {
      calls.attach = [];
      calls.rc.attach = [rc, 0];
      expect(xdpAttachFd(3, 9, 'auto')).toBe('generic');
      expect(calls.attach).toEqual([
        [3, 9, native],
        [3, 9, generic],
      ]);
    }
  });

  it('auto stops at native when a program is there (EBUSY, EEXIST) or BPF is not permitted', () => {
    for (const [rc, name] of [
      [-16, 'EBUSY'],
      [-17, 'EEXIST'],
      [-1, 'EPERM'],
      [-13, 'EACCES'],
    ] as const) {
      calls.attach = [];
      calls.rc.attach = [rc];
      const e = thrown(() => xdpAttachFd(3, 9, 'auto'));
      expect(e.details).toMatchObject({ call: 'bpf_xdp_attach', ifindex: 3, mode: 'native', errnoName: name });
      expect(e.details.nativeErrnoName).toBeUndefined();
      expect(calls.attach).toHaveLength(1);
    }
    calls.rc.attach = [-16];
    expect(thrown(() => xdpAttachFd(3, 9, 'auto')).message).toBe('bpf_xdp_attach (native mode) failed: Device or resource busy (EBUSY)');
  });

  it('a generic refusal after the fallback says why native was refused', () => {
    calls.rc.attach = [-524, -16];
    const e = thrown(() => xdpAttachFd(3, 9, 'auto'));
    expect(e.message).toBe('bpf_xdp_attach (generic mode) failed: Device or resource busy (EBUSY)');
    expect(e.details).toMatchObject({ mode: 'generic', errnoName: 'EBUSY', nativeErrnoName: 'ENOTSUPP' });
  });

  it('an explicit mode is tried alone', () => {
    calls.rc.attach = [-95];
    expect(thrown(() => xdpAttachFd(3, 9, 'native')).details).toMatchObject({ mode: 'native', errnoName: 'EOPNOTSUPP' });
    expect(xdpAttachFd(3, 9, 'generic')).toBe('generic');
    expect(calls.attach).toEqual([
      [3, 9, native],
      [3, 9, generic],
    ]);
    expect([xdpModeFlag('native'), xdpModeFlag('generic')]).toEqual([XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE]);
  });
});

describe('SO_ATTACH_REUSEPORT_CBPF on an architecture whose struct sock_fprog vsd does not lay out', () => {
  it('is an UnsupportedPlatformError before any call', () => {
    const arch = Object.getOwnPropertyDescriptor(process, 'arch')!;
    Object.defineProperty(process, 'arch', { value: 's390x', configurable: true });
    let err: unknown;
    try {
      attachReuseportProgram(-1, [{ code: 6, jt: 0, jf: 0, k: 0 }]);
    } catch (e) {
      err = e;
    } finally {
      Object.defineProperty(process, 'arch', arch);
    }
    expect(err).toBeInstanceOf(UnsupportedPlatformError);
    expect(err).toMatchObject({ code: 'VSD_ERR_PLATFORM', errno: 'EOPNOTSUPP', details: { feature: 'SO_ATTACH_REUSEPORT_CBPF', platform: 's390x' } });
    expect((err as Error).message).toBe(
      'SO_ATTACH_REUSEPORT_CBPF is not supported on s390x: vsd lays out struct sock_fprog for little-endian 64-bit ABIs only (x64, arm64, riscv64, loong64)',
    );
  });
});
