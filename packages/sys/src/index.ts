/**
 * @vsd/sys, the OS door: every call Node has no API for, for every vsd process (the dispatcher and the real-server
 * agent alike). The one libc function table through koffi and its helpers, the errno table, the socket ABI numbers,
 * sockaddr encoding, FdWatcher, the epoll reactor of a dedicated thread, unix datagrams and sd_notify, libbpf (any
 * object, its maps, XDP attachments), the netlink layer (as `netlink`), and what a host process needs from the
 * bottom besides: the pino logger, key files and config files' YAML (parseYamlConfig). Failures are this package's catalogue errors (SyscallError,
 * NetlinkError, BpfError, KeyFileError), all VsdError from @vsd/protocol.
 */
export * from './errors.js';
export * from './logger.js';
export * from './keygen.js';
export * from './config-yaml.js';
export * from './constants.js';
export * from './errno.js';
export {
  checkSyscall,
  ifIndex,
  libc,
  libcErrno,
  loadKoffi,
  setIntOption,
  trySetIntOption,
  type AsyncCall,
  type Libc,
  type MsgHdr,
  type RawLibc,
} from './libc.js';
export * from './net.js';
export { FdWatcher } from './fd-watcher.js';
export * from './reactor.js';
export * from './thread-entry.js';
export * from './unix-dgram.js';
export * from './sd-notify.js';
export * from './libbpf.js';
export * from './bpf-object.js';
export { BpfMap } from './bpf-map.js';
export * as netlink from './netlink/index.js';
