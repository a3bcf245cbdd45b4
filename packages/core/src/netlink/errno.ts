/**
 * Linux errno numbers (x86-64/arm64 generic ABI) with their names and strerror(3) texts, for the errors
 * netlink returns as -errno. Only the ones netlink users here meet; others print as "errno N".
 */
const TABLE: ReadonlyArray<readonly [number, string, string]> = [
  [1, 'EPERM', 'Operation not permitted'],
  [2, 'ENOENT', 'No such file or directory'],
  [3, 'ESRCH', 'No such process'],
  [4, 'EINTR', 'Interrupted system call'],
  [5, 'EIO', 'Input/output error'],
  [6, 'ENXIO', 'No such device or address'],
  [9, 'EBADF', 'Bad file descriptor'],
  [11, 'EAGAIN', 'Resource temporarily unavailable'],
  [12, 'ENOMEM', 'Cannot allocate memory'],
  [13, 'EACCES', 'Permission denied'],
  [14, 'EFAULT', 'Bad address'],
  [16, 'EBUSY', 'Device or resource busy'],
  [17, 'EEXIST', 'File exists'],
  [19, 'ENODEV', 'No such device'],
  [22, 'EINVAL', 'Invalid argument'],
  [28, 'ENOSPC', 'No space left on device'],
  [34, 'ERANGE', 'Numerical result out of range'],
  [90, 'EMSGSIZE', 'Message too long'],
  [92, 'ENOPROTOOPT', 'Protocol not available'],
  [93, 'EPROTONOSUPPORT', 'Protocol not supported'],
  [95, 'EOPNOTSUPP', 'Operation not supported'],
  [97, 'EAFNOSUPPORT', 'Address family not supported by protocol'],
  [98, 'EADDRINUSE', 'Address already in use'],
  [99, 'EADDRNOTAVAIL', 'Cannot assign requested address'],
  [100, 'ENETDOWN', 'Network is down'],
  [101, 'ENETUNREACH', 'Network is unreachable'],
  [105, 'ENOBUFS', 'No buffer space available'],
  [110, 'ETIMEDOUT', 'Connection timed out'],
];

const byNumber = new Map(TABLE.map(([n, name, text]) => [n, { name, text }]));
const byName = new Map(TABLE.map(([n, name]) => [name, n]));

export function errnoName(errno: number): string {
  return byNumber.get(Math.abs(errno))?.name ?? `errno ${Math.abs(errno)}`;
}

/** strerror(3) text, as ipvsadm prints for errors it has no message of its own for. */
export function strerror(errno: number): string {
  return byNumber.get(Math.abs(errno))?.text ?? `Unknown error ${Math.abs(errno)}`;
}

export function errnoNumber(name: string): number | undefined {
  return byName.get(name);
}
