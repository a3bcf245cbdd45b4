/**
 * libipvs's ipvs_strerror: the message ipvsadm prints for a failed kernel operation, chosen by the errno and
 * the operation that failed. vsd's errors carry the errno the kernel would have returned.
 */
import type { CommandName } from './options.js';

type Op = CommandName | 'get-service';

const BY_OP: ReadonlyArray<[Op, string, string]> = [
  ['add-service', 'EEXIST', 'Service already exists'],
  ['add-service', 'ENOENT', 'Scheduler or persistence engine not found'],
  ['edit-service', 'ESRCH', 'No such service'],
  ['edit-service', 'ENOENT', 'Scheduler or persistence engine not found'],
  ['delete-service', 'ESRCH', 'No such service'],
  ['zero', 'ESRCH', 'No such service'],
  ['add-server', 'ESRCH', 'Service not defined'],
  ['add-server', 'EEXIST', 'Destination already exists'],
  ['edit-server', 'ESRCH', 'Service not defined'],
  ['edit-server', 'ENOENT', 'No such destination'],
  ['delete-server', 'ESRCH', 'Service not defined'],
  ['delete-server', 'ENOENT', 'No such destination'],
  ['start-daemon', 'EEXIST', 'Daemon has already run'],
  ['stop-daemon', 'ESRCH', 'No daemon is running'],
  ['get-service', 'ESRCH', 'No such service'],
];

const ANY_OP: Record<string, string> = {
  EPERM: 'Permission denied (you must be root)',
  EINVAL: 'Invalid operation.  Possibly wrong module version, address not unicast, ...',
  ENOPROTOOPT: 'Protocol not available',
  ENOMEM: 'Memory allocation problem',
  EOPNOTSUPP: 'Operation not supported with IPv6',
  EAFNOSUPPORT: 'Operation not supported with specified address family',
  EMSGSIZE: 'Module is wrong version',
};

/** strerror() texts for the errnos that reach the table's fallback. */
const STRERROR: Record<string, string> = {
  EEXIST: 'File exists',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  ERANGE: 'Numerical result out of range',
  ENODEV: 'No such device',
  EBUSY: 'Device or resource busy',
};

export function ipvsStrerror(op: Op, errno: string | undefined): string {
  const e = errno ?? 'EINVAL';
  const hit = BY_OP.find(([o, n]) => o === op && n === e);
  if (hit) return hit[2];
  return ANY_OP[e] ?? STRERROR[e] ?? `Unknown error ${e}`;
}

/**
 * ipvsadm's message for the errno. vsd refusals the kernel has no equivalent for keep vsd's own words (they name
 * the field and value): no errno, a dataplane limit, or a value the model bounds tighter than IPVS does.
 */
export function describeRefusal(cmd: Op, err: unknown): string {
  const e = err as { code?: string; errno?: string; message?: string; details?: { field?: unknown } };
  // The kernel looks an unknown scheduler or engine name up as a module and answers ENOENT.
  if (e.code === 'VSD_ERR_VALIDATION' && /\.(scheduler|pe)$/.test(String(e.details?.field ?? ''))) return ipvsStrerror(cmd, 'ENOENT');
  if (e.code === 'VSD_ERR_UNSUPPORTED_BY_DATAPLANE' || e.code === 'VSD_ERR_VALIDATION' || !e.errno) return `vsadm: ${e.message ?? String(err)}`;
  return ipvsStrerror(cmd, e.errno);
}
