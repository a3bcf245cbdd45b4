/**
 * The OS door (`import { sys } from '@vsd/core'`): the one libc function table and its helpers, the errno table, the
 * socket ABI numbers, sockaddr encoding and FdWatcher, for the packages that open sockets Node has no API for
 * (@vsd/ha's VRRP, ICMP and AF_PACKET sockets). Failures are SyscallError, exported with the error catalogue.
 */
export * from './constants.js';
export * from './errno.js';
export { checkSyscall, ifIndex, libc, libcErrno, setIntOption, trySetIntOption, type AsyncCall, type Libc, type MsgHdr, type RawLibc } from './libc.js';
export { decodeSockaddr, encodeSockaddr, sockaddrIn, sockaddrIn6 } from './net.js';
export { FdWatcher } from './fd-watcher.js';
