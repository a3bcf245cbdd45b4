/** Which checks the probe thread runs, and what it is told about them. */
import type { CheckTarget } from '../checker.js';
import type { CheckSpec } from '../config.js';
import { httpRequestText } from '../http.js';
import type { ProbeDef } from './protocol.js';

/**
 * The probe of a TCP_CHECK or HTTP_GET, or undefined for the kinds that stay on the main thread (SSL_GET needs
 * Node's TLS, MISC_CHECK a child process).
 */
export function probeDef(spec: CheckSpec, realServer: CheckTarget): ProbeDef | undefined {
  if (spec.kind !== 'tcp' && spec.kind !== 'http') return undefined;
  const target = { address: spec.connectIp ?? realServer.address, port: spec.connectPort ?? realServer.port };
  if (spec.kind === 'tcp') return { kind: 'tcp', ...target, timeoutMs: spec.connectTimeoutMs };
  return {
    kind: 'http',
    ...target,
    timeoutMs: spec.connectTimeoutMs,
    request: httpRequestText({ target, tls: false, path: spec.path, virtualhost: spec.virtualhost }),
    statusCodes: spec.statusCodes,
    ...(spec.digest ? { digest: spec.digest } : {}),
  };
}
