/**
 * The errors the OS door raises: a failed libc call or kernel-refused netlink request (`SyscallError`), a netlink
 * exchange gone wrong (`NetlinkError`), a libbpf call (`BpfError`), a key file (`KeyFileError`), a feature this build
 * cannot offer on the platform (`UnsupportedPlatformError`). Part of vsd's one catalogue (docs/errors.md): they extend
 * @vsd/protocol's `VsdError`, and @vsd/core re-exports them.
 */
import { asErrno, VsdError, type Errno } from '@vsd/protocol';
import { errnoName as nameOfErrno, strerror } from './errno.js';

/**
 * A system call failed, or the kernel refused a netlink request with -errno (the request then stands for the call:
 * `RTM_NEWADDR`, `IPVS NEW_SERVICE`). One class for every syscall wrapper in vsd: `syscall` says what was called,
 * `errnoNumber`/`errnoName` why it failed, `context` what it was for (interface, address, path), all in `details`
 * too. EPERM/EACCES from socket() or a netlink request almost always means a missing CAP_NET_RAW/CAP_NET_ADMIN.
 */
export class SyscallError extends VsdError {
  constructor(syscall: string, errnoNumber: number, context: Readonly<Record<string, string | number>> = {}) {
    const n = Math.abs(errnoNumber);
    const name = nameOfErrno(n);
    const where = Object.entries(context)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    super('VSD_ERR_SYSCALL', `${syscall}${where ? ` (${where})` : ''}: ${strerror(n)} (${name})`, {
      errno: asErrno(name),
      details: { syscall, errnoNumber: n, errnoName: name, context: { ...context } },
    });
  }

  get syscall(): string {
    return this.details.syscall as string;
  }
  /** The positive errno. */
  get errnoNumber(): number {
    return this.details.errnoNumber as number;
  }
  get errnoName(): string {
    return this.details.errnoName as string;
  }
  get context(): Readonly<Record<string, string | number>> {
    return this.details.context as Record<string, string | number>;
  }
}

/** A netlink exchange went wrong without an errno from a call: a reply that does not parse, overrun, no reply in time. */
export class NetlinkError extends VsdError {
  constructor(operation: string, errnoName: string, message: string, errno?: Errno) {
    super('VSD_ERR_NETLINK', `netlink ${operation}: ${message}`, { errno, details: { operation, errnoName } });
  }
}

/** `vsd keygen` could not write a key file (it exists and --force was not given, or the directory refuses). */
export class KeyFileError extends VsdError {
  constructor(path: string, reason: string) {
    super('VSD_ERR_KEY_FILE', `${path}: ${reason}`, { details: { path, reason } });
  }
}

/**
 * A libbpf call failed: loading (the verifier's refusal is in the message), attaching XDP, or a map operation.
 * `details.call` names the call, `details.errnoName` the errno; EPERM/EACCES mean CAP_BPF + CAP_NET_ADMIN are missing.
 * `errnoValue` is the positive errno. The message names `details.map` (a map operation) and `details.mode` (an XDP
 * attach or detach) when given.
 */
export class BpfError extends VsdError {
  constructor(call: string, errnoValue: number, reason?: string, details: Record<string, unknown> = {}) {
    const errnoName = bpfErrnoName(errnoValue);
    const text = errnoValue === 524 ? 'Operation is not supported' : strerror(errnoValue);
    const why =
      reason ??
      (errnoValue === 1 || errnoValue === 13
        ? `${text} (${errnoName}): BPF is not permitted here (needs root or CAP_BPF and CAP_NET_ADMIN)`
        : `${text} (${errnoName})`);
    const on = [typeof details.map === 'string' ? `map ${details.map}` : '', typeof details.mode === 'string' ? `${details.mode} mode` : '']
      .filter((x) => x)
      .join(', ');
    super('VSD_ERR_BPF', `${call}${on ? ` (${on})` : ''} failed: ${why}`, { details: { call, errnoValue, errnoName, ...details } });
  }
}

/** The name of a positive errno from libbpf or the kernel's BPF code, which glibc's table lacks one of. */
export function bpfErrnoName(errnoValue: number): string {
  // 524 is the kernel-internal ENOTSUPP, which BPF helpers, the verifier and XDP attach return.
  return Math.abs(errnoValue) === 524 ? 'ENOTSUPP' : nameOfErrno(errnoValue);
}

/**
 * This build of vsd cannot do `feature` on this platform (CPU architecture, OS): a limit of vsd's code, not a refusal
 * by the kernel, so no system call was made. The caller says what the operator loses; nothing on the host changes it.
 */
export class UnsupportedPlatformError extends VsdError {
  constructor(feature: string, platform: string, reason: string) {
    super('VSD_ERR_PLATFORM', `${feature} is not supported on ${platform}: ${reason}`, { errno: 'EOPNOTSUPP', details: { feature, platform, reason } });
  }
}
