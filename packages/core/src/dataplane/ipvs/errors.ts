/**
 * Kernel -errno replies to IPVS commands, turned into vsd's typed errors. The mapping follows where the
 * kernel raises each errno (ip_vs_genl_set_cmd and friends), so the error class tells vsadm which of
 * ipvsadm's messages to print (e.g. ESRCH is "No such service" for a service command but "Service not
 * defined" for a dest command; both come back as ServiceNotFoundError with `details.command`).
 */
import {
  IpvsKernelError,
  IpvsUnavailableError,
  RealServerExistsError,
  RealServerNotFoundError,
  SchedulerNotFoundError,
  ServiceExistsError,
  ServiceNotFoundError,
  SyncDaemonError,
  ThresholdRangeError,
  asErrno,
  type VsdError,
} from '../../errors.js';
import { hostPort } from '../../model/address.js';
import { serviceKey } from '../../model/keys.js';
import type { ServiceId } from '../../model/schema.js';
import { errnoName, strerror } from '@vsd/sys';
import type { IpvsCommand } from './constants.js';
import type { DestSpec } from './codec.js';

/** What the failed request was about, to name it in the error. */
export interface IpvsErrorContext {
  command: IpvsCommand;
  service?: ServiceId;
  scheduler?: string;
  pe?: string | null;
  dest?: Pick<DestSpec, 'address' | 'port'> & Partial<DestSpec>;
  daemonState?: 'master' | 'backup';
}

export function ipvsError(errno: number, ctx: IpvsErrorContext): VsdError {
  const name = errnoName(errno);
  const svc = ctx.service ? serviceKey(ctx.service) : '';
  const dest = ctx.dest ? hostPort(ctx.dest.address, ctx.dest.port) : '';
  const isDestCmd = ctx.command === 'NEW_DEST' || ctx.command === 'SET_DEST' || ctx.command === 'DEL_DEST';
  const isSvcWrite = ctx.command === 'NEW_SERVICE' || ctx.command === 'SET_SERVICE';
  let err: VsdError | undefined;
  if (name === 'EEXIST') {
    if (ctx.command === 'NEW_SERVICE') err = new ServiceExistsError(svc);
    else if (ctx.command === 'NEW_DEST') err = new RealServerExistsError(svc, dest);
    else if (ctx.command === 'NEW_DAEMON') err = new SyncDaemonError(ctx.daemonState ?? 'master', true);
  } else if (name === 'ESRCH') {
    if (ctx.command === 'DEL_DAEMON') err = new SyncDaemonError(ctx.daemonState ?? 'master', false);
    else if (ctx.service) err = new ServiceNotFoundError(svc);
  } else if (name === 'ENOENT') {
    if (isSvcWrite) err = new SchedulerNotFoundError(ctx.pe ? `${ctx.scheduler ?? ''}/${ctx.pe}` : (ctx.scheduler ?? ''));
    else if (isDestCmd) err = new RealServerNotFoundError(svc, dest);
  } else if (name === 'ERANGE' && isDestCmd) {
    err = new ThresholdRangeError(dest, ctx.dest?.upperThreshold ?? 0, ctx.dest?.lowerThreshold ?? 0);
  }
  err ??= new IpvsKernelError(ctx.command, name, strerror(errno), asErrno(name));
  (err.details as Record<string, unknown>).command = ctx.command;
  return err;
}

/** The IPVS generic netlink family is not registered: ip_vs is not loaded (or not built) in this kernel. */
export function ipvsMissing(): IpvsUnavailableError {
  return new IpvsUnavailableError('the generic netlink family "IPVS" is not registered, so the ip_vs kernel module is not loaded');
}
