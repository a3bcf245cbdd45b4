/**
 * Non-blocking TCP sockets and epoll straight from libc, for the code that moves bytes for many connections
 * (the proxy dataplane's epoll engine). Node's net.Socket costs ~150 µs of CPU per proxied connection in
 * stream machinery alone; these calls cost the syscall plus well under a microsecond of FFI each.
 *
 * The hot-path functions return the libc result (>= 0) or `-errno`, never throw: EAGAIN and EINPROGRESS are
 * normal answers here, and an exception per would-block costs more than the syscall.
 *
 * The socket ABI numbers and errnos are ./constants.ts's and ./errno.ts's, which the package exports as they are:
 * importing them from here would be a second way to reach the same names.
 */
import { isIPv6 } from 'node:net';
import { SyscallError, UnsupportedPlatformError } from './errors.js';
import { addressBytes, ipv6ToText } from '@vsd/protocol';
import {
  AF_INET,
  AF_INET6,
  IP_FREEBIND,
  IPPROTO_TCP,
  IPV6_FREEBIND,
  IPV6_V6ONLY,
  SO_ATTACH_REUSEPORT_CBPF,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_IP,
  SOL_IPV6,
  SOL_SOCKET,
  TCP_NODELAY,
} from './constants.js';
import { libc, loadKoffi } from './libc.js';

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDHUP = 0x2000;
export const EPOLLET = 0x80000000;
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;

/**
 * struct epoll_event: x86-64 packs it (4-byte events + 8-byte data = 12 bytes); every other Linux ABI aligns
 * the data to 8 (16 bytes).
 */
export const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;

export interface NetCalls {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, len: Buffer): number;
  bind(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  epollCreate(): number;
  eventfd(initval: number, flags: number): number;
  read(fd: number, buf: Buffer, len: number): number;
  write(fd: number, buf: Buffer, len: number): number;
}

/**
 * The hot calls (recv, send, accept4, epoll_ctl, epoll_wait, setsockopt) in their raw forms (libc().raw: every
 * pointer a plain number, the address of a pinned buffer, see `pinned()`), each returning -errno on failure.
 */
export interface RawNetCalls {
  recv(fd: number, buf: number, len: number, flags: number): number;
  send(fd: number, buf: number, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: number, len: number): number;
  accept4(fd: number, addr: number, len: number, flags: number): number;
  epollCtl(epfd: number, op: number, fd: number, event: number): number;
  epollWait(epfd: number, events: number, max: number, timeoutMs: number): number;
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: number, len: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
}

let cached: NetCalls | undefined;
let cachedRaw: RawNetCalls | undefined;

export function rawNetCalls(): RawNetCalls {
  if (cachedRaw) return cachedRaw;
  const koffi = loadKoffi();
  const { recv, send, setsockopt, accept4, epoll_ctl: epollCtl, epoll_wait: epollWait, socket, connect, shutdown, close } = libc().raw;
  // Fixed arity, no rest arguments: these run several times per proxied connection.
  cachedRaw = {
    recv: (a, b, c, d) => {
      const r = recv(a, b, c, d);
      return r < 0 ? -koffi.errno() : r;
    },
    send: (a, b, c, d) => {
      const r = send(a, b, c, d);
      return r < 0 ? -koffi.errno() : r;
    },
    setsockopt: (a, b, c, d, e) => {
      const r = setsockopt(a, b, c, d, e);
      return r < 0 ? -koffi.errno() : r;
    },
    accept4: (a, b, c, d) => {
      const r = accept4(a, b, c, d);
      return r < 0 ? -koffi.errno() : r;
    },
    epollCtl: (a, b, c, d) => {
      const r = epollCtl(a, b, c, d);
      return r < 0 ? -koffi.errno() : r;
    },
    epollWait: (a, b, c, d) => {
      const r = epollWait(a, b, c, d);
      return r < 0 ? -koffi.errno() : r;
    },
    socket: (a, b, c) => {
      const r = socket(a, b, c);
      return r < 0 ? -koffi.errno() : r;
    },
    connect: (a, b, c) => {
      const r = connect(a, b, c);
      return r < 0 ? -koffi.errno() : r;
    },
    shutdown: (a, b) => {
      const r = shutdown(a, b);
      return r < 0 ? -koffi.errno() : r;
    },
    close: (a) => {
      const r = close(a);
      return r < 0 ? -koffi.errno() : r;
    },
  };
  return cachedRaw;
}

/** A buffer whose memory never moves, and its address, for the raw calls. */
export interface Pinned {
  readonly buf: Buffer;
  readonly addr: number;
}

/**
 * `size` bytes in their own ArrayBuffer. An ArrayBuffer's backing store lives outside V8's heap and is never moved
 * by the GC (small typed arrays created directly may live on the heap and move), so its address stays valid for as
 * long as the returned object is referenced: keep it referenced while the address is in use.
 */
export function pinned(size: number): Pinned {
  const buf = Buffer.from(new ArrayBuffer(Math.max(size, 1)), 0, size);
  return { buf, addr: Number(loadKoffi().address(buf)) };
}

/** The calls of the TCP paths, each returning -errno on failure. Throws if koffi or libc cannot load. */
export function netCalls(): NetCalls {
  if (cached) return cached;
  const c = libc();
  const koffi = loadKoffi();
  // A negative result becomes -errno right here, so callers test one number.
  const e =
    <A extends unknown[]>(fn: (...args: A) => number) =>
    (...args: A): number => {
      const r = fn(...args);
      return r < 0 ? -koffi.errno() : r;
    };
  cached = {
    socket: e(c.socket),
    setsockopt: e(c.setsockopt),
    getsockopt: e(c.getsockopt),
    bind: e(c.bind),
    listen: e(c.listen),
    connect: e(c.connect),
    send: e(c.send),
    shutdown: e(c.shutdown),
    close: e(c.close),
    epollCreate: e(() => c.epoll_create1(SOCK_CLOEXEC)),
    eventfd: e(c.eventfd),
    read: e(c.read),
    write: e(c.write),
  };
  return cached;
}

/** Fill an epoll_event: the events mask and the fd as its data. */
export function writeEpollEvent(buf: Buffer, events: number, fd: number): void {
  buf.writeUInt32LE(events >>> 0, 0);
  buf.writeUInt32LE(fd, EPOLL_DATA_OFFSET);
  buf.writeUInt32LE(0, EPOLL_DATA_OFFSET + 4);
}

export function epollEventMask(buf: Buffer, i: number): number {
  return buf.readUInt32LE(i * EPOLL_EVENT_SIZE);
}

export function epollEventFd(buf: Buffer, i: number): number {
  return buf.readUInt32LE(i * EPOLL_EVENT_SIZE + EPOLL_DATA_OFFSET);
}

/** struct sockaddr_in (16 bytes) for 4 address bytes: family in host order, port big-endian. */
export function sockaddrIn(address: Uint8Array, port = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(port, 2);
  b.set(address, 4);
  return b;
}

/** struct sockaddr_in6 (28 bytes) for 16 address bytes; `scopeId` is the interface of a link-local address. */
export function sockaddrIn6(address: Uint8Array, scopeId = 0, port = 0): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  b.set(address, 8);
  b.writeUInt32LE(scopeId, 24);
  return b;
}

/** sockaddr_in / sockaddr_in6 for address:port. */
export function encodeSockaddr(address: string, port: number): Buffer {
  const bytes = addressBytes(address);
  return bytes.length === 4 ? sockaddrIn(bytes, port) : sockaddrIn6(bytes, 0, port);
}

/** The address and port of a sockaddr filled by accept4/getsockname; IPv4-mapped IPv6 comes back as IPv4. */
export function decodeSockaddr(b: Buffer): { address: string; port: number } {
  const family = b.readUInt16LE(0);
  const port = b.readUInt16BE(2);
  if (family === AF_INET) return { address: `${b[4]}.${b[5]}.${b[6]}.${b[7]}`, port };
  const raw = b.subarray(8, 24);
  const mapped = raw.subarray(0, 10).every((x) => x === 0) && raw[10] === 0xff && raw[11] === 0xff;
  if (mapped) return { address: `${raw[12]}.${raw[13]}.${raw[14]}.${raw[15]}`, port };
  return { address: ipv6ToText(raw), port };
}

/** The address of a sockaddr folded as foldAddress() folds its text (IPv4 as is, IPv4-mapped as IPv4, IPv6 words XORed). */
export function foldSockaddr(b: Buffer): number {
  if (b.readUInt16LE(0) === AF_INET) return b.readUInt32BE(4);
  if (b.readUInt32BE(8) === 0 && b.readUInt32BE(12) === 0 && b.readUInt32BE(16) === 0xffff) return b.readUInt32BE(20);
  return (b.readUInt32BE(8) ^ b.readUInt32BE(12) ^ b.readUInt32BE(16) ^ b.readUInt32BE(20)) >>> 0;
}

export function socketFamily(address: string): number {
  return isIPv6(address) ? AF_INET6 : AF_INET;
}

export interface ListenOptions {
  backlog?: number;
  /** Bind an address that is not on the host (IP_FREEBIND / IPV6_FREEBIND). */
  freebind?: boolean;
  /** TCP_NODELAY on the listener, inherited by every accepted socket (saves a setsockopt per connection). */
  noDelay?: boolean;
  /**
   * Join (or start) the SO_REUSEPORT group of address:port: one listener per thread, the kernel handing each new
   * connection to one of them (by a hash of its addresses and ports, or by a program, see attachReuseportProgram).
   */
  reusePort?: boolean;
}

/** A non-blocking listening TCP socket on address:port; throws a SyscallError naming the failed call and the address. */
export function openTcpListener(address: string, port: number, opts: ListenOptions = {}): number {
  const c = netCalls();
  const v6 = isIPv6(address);
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const where = { address: v6 ? `[${address}]:${port}` : `${address}:${port}` };
  if (fd < 0) throw new SyscallError('socket', fd, where);
  const one = Buffer.alloc(4);
  one.writeInt32LE(1);
  const check = (rc: number, what: string): void => {
    if (rc >= 0) return;
    c.close(fd);
    throw new SyscallError(what, rc, where);
  };
  check(c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4), 'setsockopt(SO_REUSEADDR)');
  if (opts.reusePort) check(c.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, one, 4), 'setsockopt(SO_REUSEPORT)');
  if (v6) check(c.setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, one, 4), 'setsockopt(IPV6_V6ONLY)');
  if (opts.freebind) {
    check(
      v6 ? c.setsockopt(fd, SOL_IPV6, IPV6_FREEBIND, one, 4) : c.setsockopt(fd, SOL_IP, IP_FREEBIND, one, 4),
      v6 ? 'setsockopt(IPV6_FREEBIND)' : 'setsockopt(IP_FREEBIND)',
    );
  }
  if (opts.noDelay) check(c.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, one, 4), 'setsockopt(TCP_NODELAY)');
  const sa = encodeSockaddr(address, port);
  check(c.bind(fd, sa, sa.length), 'bind');
  check(c.listen(fd, opts.backlog ?? 511), 'listen');
  return fd;
}

const LE64 = new Set(['x64', 'arm64', 'riscv64', 'loong64']);

/** One classic BPF instruction (struct sock_filter). */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/**
 * Give the SO_REUSEPORT group of `fd` a classic BPF program that returns the index of the socket (in the order the
 * group's sockets started listening) to hand each new connection to; an index out of range falls back to the
 * kernel's hash. One program serves the whole group: attaching again replaces it. Throws a SyscallError, or an
 * UnsupportedPlatformError on a CPU architecture whose struct sock_fprog this code does not lay out.
 */
export function attachReuseportProgram(fd: number, program: readonly SockFilter[]): void {
  // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: written here for little-endian 64-bit
  // ABIs, the pointer at offset 8.
  if (!LE64.has(process.arch))
    throw new UnsupportedPlatformError(
      'SO_ATTACH_REUSEPORT_CBPF',
      process.arch,
      `vsd lays out struct sock_fprog for little-endian 64-bit ABIs only (${[...LE64].join(', ')})`,
    );
  const c = netCalls();
  // The kernel copies the instructions during the call; the pinned buffer only has to outlive it.
  const insns = pinned(program.length * 8);
  program.forEach((ins, i) => {
    insns.buf.writeUInt16LE(ins.code, i * 8);
    insns.buf.writeUInt8(ins.jt, i * 8 + 2);
    insns.buf.writeUInt8(ins.jf, i * 8 + 3);
    insns.buf.writeUInt32LE(ins.k >>> 0, i * 8 + 4);
  });
  const fprog = Buffer.alloc(16);
  fprog.writeUInt16LE(program.length, 0);
  fprog.writeBigUInt64LE(BigInt(insns.addr), 8);
  const rc = c.setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog, 16);
  if (rc < 0) throw new SyscallError('setsockopt(SO_ATTACH_REUSEPORT_CBPF)', rc, { fd });
}
