/**
 * The one door to libc, for the calls Node lacks (netlink, raw IP, AF_PACKET and unix datagram sockets, IP_FREEBIND,
 * epoll for the engine threads): one koffi library load per thread and one function table, every prototype declared
 * here. koffi is required on first use, not at import, so the CLIs (vsadm, vsctl), which never open such a socket,
 * do not pay for loading the FFI library at every start. Other native libraries (libbpf) load beside it through
 * loadKoffi(). The calls return what libc returns (-1 and errno on failure); checkSyscall() turns that into a
 * SyscallError, and ./net.ts wraps the hot ones to return -errno instead.
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';
import { SyscallError } from './errors.js';

type Koffi = typeof KoffiModule;
type Library = ReturnType<Koffi['load']>;

let koffiModule: Koffi | undefined;
let library: Library | undefined;

export function loadKoffi(): Koffi {
  koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi;
  return koffiModule;
}

/** libc.so.6, loaded once per thread. */
function libcLibrary(): Library {
  library ??= loadKoffi().load('libc.so.6');
  return library;
}

/** errno of the last libc call made through koffi on this thread. */
export function libcErrno(): number {
  return loadKoffi().errno();
}

/** A call that can also run on libuv's thread pool (koffi's `.async`), its result handed to the callback. */
export type AsyncCall<A extends unknown[]> = ((...args: A) => number) & {
  async(...args: [...A, (err: unknown, result: number) => void]): void;
};

/** struct msghdr with one iovec, as recvmsg() fills it (name, control and their lengths are written back). */
export interface MsgHdr {
  name: Buffer;
  namelen: number;
  iov: { base: Buffer; len: number }[];
  iovlen: number;
  control: Buffer;
  controllen: number;
  flags: number;
}

/**
 * The hot calls with every pointer passed as a plain number (the address of a pinned buffer, see pinned() in
 * ./net.ts): koffi then converts numbers only, about half the cost of converting a Buffer argument.
 */
export interface RawLibc {
  recv(fd: number, buf: number, len: number, flags: number): number;
  send(fd: number, buf: number, len: number, flags: number): number;
  setsockopt(fd: number, level: number, name: number, value: number, len: number): number;
  accept4(fd: number, addr: number, len: number, flags: number): number;
  epoll_ctl(epfd: number, op: number, fd: number, event: number): number;
  epoll_wait(epfd: number, events: number, max: number, timeoutMs: number): number;
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, addr: number, len: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
}

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, len: Buffer): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, alen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  /** `alen` is read and written back (a one-element Uint32Array). */
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, alen: Uint32Array | null): number;
  recvmsg(fd: number, msg: MsgHdr, flags: number): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  read(fd: number, buf: Buffer, len: number): number;
  write(fd: number, buf: Buffer, len: number): number;
  pipe2(fds: Int32Array, flags: number): number;
  /** struct pollfd[] in a Buffer; `.async` parks a pool thread until an fd is ready. */
  poll: AsyncCall<[fds: Buffer, nfds: number, timeoutMs: number]>;
  epoll_create1(flags: number): number;
  eventfd(initval: number, flags: number): number;
  /** 0 when there is no such interface (errno ENODEV). */
  if_nametoindex(name: string): number;
  readonly raw: RawLibc;
}

let cached: Libc | undefined;

/** The libc calls, bound once per thread (koffi keeps errno per thread). Throws if koffi or libc cannot load. */
export function libc(): Libc {
  if (cached) return cached;
  const koffi = loadKoffi();
  const lib = libcLibrary();
  const f = <T>(prototype: string): T => lib.func(prototype) as unknown as T;
  // Anonymous, so that every thread may declare it (koffi type names are unique per process).
  const iovec = koffi.struct({ base: 'void *', len: 'size_t' });
  const msghdr = koffi.struct({
    name: 'void *',
    namelen: 'uint32',
    iov: koffi.pointer(iovec),
    iovlen: 'size_t',
    control: 'void *',
    controllen: 'size_t',
    flags: 'int',
  });
  cached = {
    socket: f('int socket(int, int, int)'),
    bind: f('int bind(int, const void *, uint32_t)'),
    listen: f('int listen(int, int)'),
    connect: f('int connect(int, const void *, uint32_t)'),
    setsockopt: f('int setsockopt(int, int, int, const void *, uint32_t)'),
    getsockopt: f('int getsockopt(int, int, int, void *, void *)'),
    send: f('intptr_t send(int, const void *, size_t, int)'),
    sendto: f('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
    recv: f('intptr_t recv(int, void *, size_t, int)'),
    recvfrom: f('intptr_t recvfrom(int, _Out_ void *, size_t, int, _Out_ void *, _Inout_ uint32_t *)'),
    recvmsg: lib.func('recvmsg', 'intptr_t', ['int', koffi.inout(koffi.pointer(msghdr)), 'int']) as unknown as Libc['recvmsg'],
    shutdown: f('int shutdown(int, int)'),
    close: f('int close(int)'),
    read: f('intptr_t read(int, void *, size_t)'),
    write: f('intptr_t write(int, const void *, size_t)'),
    pipe2: f('int pipe2(_Out_ int *, int)'),
    poll: f('int poll(_Inout_ void *, uint64_t, int)'),
    epoll_create1: f('int epoll_create1(int)'),
    eventfd: f('int eventfd(unsigned int, int)'),
    if_nametoindex: f('uint32_t if_nametoindex(const char *)'),
    raw: {
      recv: f('intptr_t recv(int, uintptr_t, size_t, int)'),
      send: f('intptr_t send(int, uintptr_t, size_t, int)'),
      setsockopt: f('int setsockopt(int, int, int, uintptr_t, uint32_t)'),
      accept4: f('int accept4(int, uintptr_t, uintptr_t, int)'),
      epoll_ctl: f('int epoll_ctl(int, int, int, uintptr_t)'),
      epoll_wait: f('int epoll_wait(int, uintptr_t, int, int)'),
      socket: f('int socket(int, int, int)'),
      connect: f('int connect(int, uintptr_t, uint32_t)'),
      shutdown: f('int shutdown(int, int)'),
      close: f('int close(int)'),
    },
  };
  return cached;
}

/** `result` as a number, or throws a SyscallError naming the call (and what it was for) with this thread's errno. */
export function checkSyscall(call: string, result: number | bigint, context: Record<string, string | number> = {}): number {
  const n = Number(result);
  if (n < 0) throw new SyscallError(call, libcErrno(), context);
  return n;
}

/** setsockopt() of an int option; `call` names it in the error (`setsockopt(SO_RCVBUF)`). */
export function setIntOption(fd: number, level: number, name: number, value: number, call: string, context: Record<string, string | number> = {}): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  checkSyscall(call, libc().setsockopt(fd, level, name, buf, 4), context);
}

/** Same as setIntOption, false instead of an error (options that have a fallback, e.g. SO_RCVBUFFORCE). */
export function trySetIntOption(fd: number, level: number, name: number, value: number): boolean {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  return libc().setsockopt(fd, level, name, buf, 4) === 0;
}

/** The index of a network interface; throws SyscallError (ENODEV) when there is none of that name. */
export function ifIndex(name: string): number {
  const index = libc().if_nametoindex(name);
  if (!index) throw new SyscallError('if_nametoindex', libcErrno(), { interface: name });
  return index;
}
