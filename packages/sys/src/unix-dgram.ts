/**
 * Unix datagram sockets through libc, which Node lacks (net has unix streams, dgram only UDP): enough for the
 * service manager's notification socket (sd_notify) and for a receiver that plays the service manager in tests.
 * A path starting with '@' is in the abstract namespace (a leading NUL byte, no file), as systemd writes it.
 */
import { SyscallError } from './errors.js';
import { AF_UNIX, MSG_DONTWAIT, MSG_NOSIGNAL, SOCK_CLOEXEC, SOCK_DGRAM } from './constants.js';
import { EAGAIN, ETIMEDOUT } from './errno.js';
import { libc, libcErrno } from './libc.js';

export { AF_UNIX, SOCK_DGRAM };
/** sizeof(sun_path) on Linux. */
const SUN_PATH_MAX = 108;

function fail(call: string, errno: number, path: string): SyscallError {
  return new SyscallError(call, errno, { path });
}

/** struct sockaddr_un for a path or an '@abstract' name, and the length to pass with it. */
export function unixSockaddr(path: string): { addr: Buffer; len: number } {
  const abstract = path.startsWith('@');
  const name = Buffer.from(abstract ? path.slice(1) : path);
  // A file path needs its terminating NUL inside sun_path; an abstract name is counted by the length alone.
  if (name.length + 1 > SUN_PATH_MAX) throw new RangeError(`unix socket path longer than ${SUN_PATH_MAX - 1} bytes: ${path}`);
  if (!abstract && name.length === 0) throw new RangeError('empty unix socket path');
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, abstract ? 3 : 2);
  return { addr, len: abstract ? 3 + name.length : 2 + name.length + 1 };
}

function openDgram(path: string): number {
  const c = libc();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw fail('socket', libcErrno(), path);
  return fd;
}

/** Send one datagram to the socket at `path`; throws SyscallError when the kernel refuses it. */
export function sendUnixDatagram(path: string, data: Buffer): void {
  const c = libc();
  const { addr, len } = unixSockaddr(path);
  const fd = openDgram(path);
  try {
    if (c.sendto(fd, data, data.length, MSG_NOSIGNAL, addr, len) < 0) throw fail('sendto', libcErrno(), path);
  } finally {
    c.close(fd);
  }
}

/** A bound unix datagram socket read without blocking: the service manager's end, for tests and tools. */
export class UnixDatagramReceiver {
  private fd: number;
  private readonly buf = Buffer.alloc(65536);

  constructor(readonly path: string) {
    const c = libc();
    this.fd = openDgram(path);
    const { addr, len } = unixSockaddr(path);
    if (c.bind(this.fd, addr, len) < 0) {
      const errno = libcErrno();
      c.close(this.fd);
      throw fail('bind', errno, path);
    }
  }

  /** The next queued datagram, or null when none is waiting. */
  tryReceive(): Buffer | null {
    const n = libc().recv(this.fd, this.buf, this.buf.length, MSG_DONTWAIT);
    if (n >= 0) return Buffer.from(this.buf.subarray(0, n));
    const errno = libcErrno();
    if (errno === EAGAIN) return null;
    throw fail('recv', errno, this.path);
  }

  /**
   * Waits (polling every few ms) for the next datagram. None within `timeoutMs` rejects with a SyscallError for
   * `recv` with ETIMEDOUT, the socket's path and the wait in its context, as the other failures of this socket read.
   */
  async receive(timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const d = this.tryReceive();
      if (d) return d;
      if (Date.now() >= deadline) throw new SyscallError('recv', ETIMEDOUT, { path: this.path, timeout: `${timeoutMs} ms` });
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  close(): void {
    if (this.fd >= 0) libc().close(this.fd);
    this.fd = -1;
  }
}
