/**
 * The one errno table: Linux errno numbers (asm-generic, shared by x86-64 and arm64) with their names and glibc's
 * strerror(3) texts, for every syscall wrapper and netlink reply in vsd. Pure (no libc call), so error messages read
 * the same in a worker thread, an exit handler and a unit test. Numbers outside the table print as "errno N".
 */
const TABLE: ReadonlyArray<readonly [number, string, string]> = [
  [1, 'EPERM', 'Operation not permitted'],
  [2, 'ENOENT', 'No such file or directory'],
  [3, 'ESRCH', 'No such process'],
  [4, 'EINTR', 'Interrupted system call'],
  [5, 'EIO', 'Input/output error'],
  [6, 'ENXIO', 'No such device or address'],
  [7, 'E2BIG', 'Argument list too long'],
  [9, 'EBADF', 'Bad file descriptor'],
  [11, 'EAGAIN', 'Resource temporarily unavailable'],
  [12, 'ENOMEM', 'Cannot allocate memory'],
  [13, 'EACCES', 'Permission denied'],
  [14, 'EFAULT', 'Bad address'],
  [16, 'EBUSY', 'Device or resource busy'],
  [17, 'EEXIST', 'File exists'],
  [19, 'ENODEV', 'No such device'],
  [20, 'ENOTDIR', 'Not a directory'],
  [21, 'EISDIR', 'Is a directory'],
  [22, 'EINVAL', 'Invalid argument'],
  [23, 'ENFILE', 'Too many open files in system'],
  [24, 'EMFILE', 'Too many open files'],
  [28, 'ENOSPC', 'No space left on device'],
  [32, 'EPIPE', 'Broken pipe'],
  [34, 'ERANGE', 'Numerical result out of range'],
  [36, 'ENAMETOOLONG', 'File name too long'],
  [38, 'ENOSYS', 'Function not implemented'],
  [61, 'ENODATA', 'No data available'],
  [74, 'EBADMSG', 'Bad message'],
  [75, 'EOVERFLOW', 'Value too large for defined data type'],
  [88, 'ENOTSOCK', 'Socket operation on non-socket'],
  [90, 'EMSGSIZE', 'Message too long'],
  [91, 'EPROTOTYPE', 'Protocol wrong type for socket'],
  [92, 'ENOPROTOOPT', 'Protocol not available'],
  [93, 'EPROTONOSUPPORT', 'Protocol not supported'],
  [94, 'ESOCKTNOSUPPORT', 'Socket type not supported'],
  [95, 'EOPNOTSUPP', 'Operation not supported'],
  [97, 'EAFNOSUPPORT', 'Address family not supported by protocol'],
  [98, 'EADDRINUSE', 'Address already in use'],
  [99, 'EADDRNOTAVAIL', 'Cannot assign requested address'],
  [100, 'ENETDOWN', 'Network is down'],
  [101, 'ENETUNREACH', 'Network is unreachable'],
  [103, 'ECONNABORTED', 'Software caused connection abort'],
  [104, 'ECONNRESET', 'Connection reset by peer'],
  [105, 'ENOBUFS', 'No buffer space available'],
  [106, 'EISCONN', 'Transport endpoint is already connected'],
  [107, 'ENOTCONN', 'Transport endpoint is not connected'],
  [110, 'ETIMEDOUT', 'Connection timed out'],
  [111, 'ECONNREFUSED', 'Connection refused'],
  [112, 'EHOSTDOWN', 'Host is down'],
  [113, 'EHOSTUNREACH', 'No route to host'],
  [114, 'EALREADY', 'Operation already in progress'],
  [115, 'EINPROGRESS', 'Operation now in progress'],
  [125, 'ECANCELED', 'Operation canceled'],
];

// The numbers code compares against; the rest are only named.
export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EAGAIN = 11;
export const EACCES = 13;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EADDRINUSE = 98;
export const EADDRNOTAVAIL = 99;
export const ETIMEDOUT = 110;
export const EINPROGRESS = 115;

const byNumber = new Map(TABLE.map(([n, name, text]) => [n, { name, text }]));
const byName = new Map(TABLE.map(([n, name]) => [name, n]));

/** "EADDRINUSE" for 98 or -98; "errno N" for a number outside the table. */
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
