/** Builds the checker for one check spec of one real server. */
import type { Checker, CheckTarget } from './checker.js';
import type { CheckSpec } from './config.js';
import { createHttpChecker } from './http.js';
import { createScriptChecker } from './script.js';
import { createTcpChecker } from './tcp.js';

export interface CheckerContext {
  /** The real server. */
  realServer: CheckTarget;
  /** The check's interval (its own delay_loop or the virtual server's): MISC_CHECK's default timeout. */
  intervalMs: number;
  killGraceMs?: number;
}

export function createChecker(spec: CheckSpec, ctx: CheckerContext): Checker {
  const rs = ctx.realServer;
  if (spec.kind === 'misc')
    return createScriptChecker({
      command: spec.path,
      timeoutMs: spec.timeoutMs ?? ctx.intervalMs,
      dynamic: spec.dynamic,
      killGraceMs: ctx.killGraceMs,
      env: { VSD_RS_ADDRESS: rs.address, VSD_RS_PORT: String(rs.port) },
    });
  const target = { address: spec.connectIp ?? rs.address, port: spec.connectPort ?? rs.port };
  if (spec.kind === 'tcp') return createTcpChecker({ target, timeoutMs: spec.connectTimeoutMs });
  return createHttpChecker({
    target,
    tls: spec.kind === 'https',
    path: spec.path,
    statusCodes: spec.statusCodes,
    digest: spec.digest,
    virtualhost: spec.virtualhost,
    timeoutMs: spec.connectTimeoutMs,
    enableSni: spec.enableSni,
    sniName: spec.sniName,
    verify: spec.verify,
    ca: spec.ca,
  });
}
