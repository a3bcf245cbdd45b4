/**
 * Binding a VIP that is not (yet) on this host, so a standby dispatcher keeps its listeners warm and takes
 * traffic the moment VRRP moves the address here.
 *
 * - TCP: a listening socket is made with koffi (socket, setsockopt IP_FREEBIND / IPV6_FREEBIND, bind, listen)
 *   and handed to Node with `server.listen({ fd })`. Per socket, no privilege, no host-wide side effect.
 * - UDP: Node's dgram cannot adopt a file descriptor, so the only way is the netns-wide sysctl
 *   net.ipv4.ip_nonlocal_bind / net.ipv6.ip_nonlocal_bind, which this module sets to 1 when running as root
 *   (and logs). Without root the bind fails and the dataplane retries it on a timer until the VIP arrives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { libcErrno, libcLibrary } from '../../sys/libc.js';
import { addressBytes } from '../../model/address.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_REUSEADDR = 2;
const SOL_IP = 0;
const IP_FREEBIND = 15;
const SOL_IPV6 = 41;
const IPV6_FREEBIND = 78;
const IPV6_V6ONLY = 26;

type Fn = (...args: unknown[]) => number;
interface Libc {
  socket: Fn;
  setsockopt: Fn;
  bind: Fn;
  listen: Fn;
  close: Fn;
  strerror: (errnum: number) => string;
}

let cached: Libc | undefined;
function libc(): Libc {
  if (cached) return cached;
  const lib = libcLibrary();
  cached = {
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32 len)'),
    bind: lib.func('int bind(int fd, const void *addr, uint32 len)'),
    listen: lib.func('int listen(int fd, int backlog)'),
    close: lib.func('int close(int fd)'),
    strerror: lib.func('const char *strerror(int errnum)'),
  } as unknown as Libc;
  return cached;
}

/** A listening TCP socket on address:port with IP_FREEBIND set, as a file descriptor for `server.listen({ fd })`. */
export function freebindTcpListener(address: string, port: number, backlog = 511): number {
  const c = libc();
  const v6 = isIPv6(address);
  const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('socket');
  try {
    const one = Buffer.alloc(4);
    one.writeInt32LE(1);
    check(c.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, one, 4), 'setsockopt(SO_REUSEADDR)');
    if (v6) {
      check(c.setsockopt(fd, SOL_IPV6, IPV6_FREEBIND, one, 4), 'setsockopt(IPV6_FREEBIND)');
      check(c.setsockopt(fd, SOL_IPV6, IPV6_V6ONLY, one, 4), 'setsockopt(IPV6_V6ONLY)');
    } else {
      check(c.setsockopt(fd, SOL_IP, IP_FREEBIND, one, 4), 'setsockopt(IP_FREEBIND)');
    }
    const sa = sockaddr(address, port);
    check(c.bind(fd, sa, sa.length), `bind(${address}:${port})`);
    check(c.listen(fd, backlog), 'listen');
    return fd;
  } catch (err) {
    c.close(fd);
    throw err;
  }
}

/** sockaddr_in / sockaddr_in6 in the host's (little-endian) layout: family in host order, port big-endian. */
export function sockaddr(address: string, port: number): Buffer {
  const bytes = addressBytes(address);
  if (bytes.length === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    b.set(bytes, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  b.set(bytes, 8);
  return b;
}

/** Turn on ip_nonlocal_bind for the family of `address` in the current network namespace; needs root. */
export function enableNonlocalBind(address: string): boolean {
  const path = `/proc/sys/net/${isIPv6(address) ? 'ipv6' : 'ipv4'}/ip_nonlocal_bind`;
  try {
    if (readFileSync(path, 'utf8').trim() === '1') return true;
    if (process.getuid?.() !== 0) return false;
    writeFileSync(path, '1\n');
    return true;
  } catch {
    return false;
  }
}

function check(rc: number, what: string): void {
  if (rc < 0) throw sysError(what);
}

function sysError(what: string): NodeJS.ErrnoException {
  const errnum = libcErrno();
  const err: NodeJS.ErrnoException = new Error(`${what}: ${libc().strerror(errnum)}`);
  err.errno = errnum;
  err.syscall = what;
  return err;
}
