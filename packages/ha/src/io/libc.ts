/**
 * The few libc calls Node lacks (raw IP, AF_PACKET and netlink sockets), bound with koffi. Loaded lazily so
 * that importing @vsd/ha costs nothing where no socket is opened (unit tests, non-Linux tools).
 */
import { SyscallError, libcErrno, libcLibrary, loadKoffi } from '@vsd/core';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0x800;
export const SOCK_CLOEXEC = 0x80000;
export const SOL_SOCKET = 1;
export const SO_RCVBUF = 8;
export const SO_BINDTODEVICE = 25;
export const SO_RCVBUFFORCE = 33;
export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IPV6_CHECKSUM = 7;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const MSG_DONTWAIT = 0x40;
export const POLLIN = 1;
export const EINTR = 4;
export const EAGAIN = 11;
export const EEXIST = 17;
export const EADDRNOTAVAIL = 99;

type Fn = ((...args: any[]) => any) & { async: (...args: any[]) => void };

export interface Libc {
  socket: Fn;
  setsockopt: Fn;
  bind: Fn;
  sendto: Fn;
  recvfrom: Fn;
  recvmsg: Fn;
  poll: Fn;
  pipe2: Fn;
  write: Fn;
  read: Fn;
  close: Fn;
  if_nametoindex: Fn;
  strerror: Fn;
}

let cached: Libc | undefined;

export function libc(): Libc {
  if (cached) return cached;
  const lib = libcLibrary();
  const koffi = loadKoffi();
  const iovec = koffi.struct('vsd_iovec', { base: 'void *', len: 'size_t' });
  koffi.struct('vsd_msghdr', {
    name: 'void *',
    namelen: 'uint32',
    iov: koffi.pointer(iovec),
    iovlen: 'size_t',
    control: 'void *',
    controllen: 'size_t',
    flags: 'int',
  });
  cached = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32 len)'),
    bind: lib.func('int bind(int fd, const void *addr, uint32 len)'),
    sendto: lib.func('intptr sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32 alen)'),
    recvfrom: lib.func('intptr recvfrom(int fd, _Out_ void *buf, size_t len, int flags, _Out_ void *addr, _Inout_ uint32 *alen)'),
    recvmsg: lib.func('intptr recvmsg(int fd, _Inout_ vsd_msghdr *msg, int flags)'),
    poll: lib.func('int poll(_Inout_ void *fds, uint64 nfds, int timeout)'),
    pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)'),
    write: lib.func('intptr write(int fd, const void *buf, size_t len)'),
    read: lib.func('intptr read(int fd, _Out_ void *buf, size_t len)'),
    close: lib.func('int close(int fd)'),
    if_nametoindex: lib.func('uint32 if_nametoindex(const char *name)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  } as unknown as Libc;
  return cached;
}

export function errno(): number {
  return libcErrno();
}

/** Throws a SyscallError when a libc call returned a negative value. */
export function check(call: string, result: number | bigint, context: Record<string, string | number> = {}): number {
  const n = Number(result);
  if (n < 0) throw new SyscallError(call, errno(), context);
  return n;
}

export function setIntOption(fd: number, level: number, name: number, value: number, call = 'setsockopt'): void {
  const buf = Buffer.alloc(4);
  buf.writeInt32LE(value);
  check(call, libc().setsockopt(fd, level, name, buf, 4));
}

export function ifIndex(name: string): number {
  const index = libc().if_nametoindex(name) as number;
  if (!index) throw new SyscallError('if_nametoindex', errno(), { interface: name });
  return index;
}

/** struct sockaddr_in (16 bytes). */
export function sockaddrIn(address: Buffer, port = 0): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  address.copy(sa, 4);
  return sa;
}

/** struct sockaddr_in6 (28 bytes). */
export function sockaddrIn6(address: Buffer, scopeId = 0, port = 0): Buffer {
  const sa = Buffer.alloc(28);
  sa.writeUInt16LE(AF_INET6, 0);
  sa.writeUInt16BE(port, 2);
  address.copy(sa, 8);
  sa.writeUInt32LE(scopeId, 24);
  return sa;
}
