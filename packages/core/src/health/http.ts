/**
 * HTTP_GET and SSL_GET: `GET path` with keepalived's User-Agent, a Host header and `Connection: close`; up when
 * the status is in the accepted list (default 200-299) and, when a digest is set, the MD5 of the body matches.
 * The whole exchange must finish within connect_timeout. Without a digest the body is not read at all.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { isIP } from 'node:net';
import { hostPort } from '../model/address.js';
import { errorReason, fail, ok, type Checker, type CheckResult, type CheckTarget } from './checker.js';
import { HTTP_USER_AGENT } from './constants.js';
import { formatStatusCodes, statusAccepted, type StatusRange } from './status-codes.js';

export interface HttpCheckerOptions {
  target: CheckTarget;
  tls: boolean;
  path: string;
  statusCodes: readonly StatusRange[];
  digest?: string;
  virtualhost?: string;
  timeoutMs: number;
  /** TLS only: send SNI (sniName, else the virtualhost). */
  enableSni?: boolean;
  sniName?: string;
  /** TLS only: verify the certificate chain and name. */
  verify?: boolean;
  /** TLS only: PEM file of the CA to verify against. */
  ca?: string;
}

export function createHttpChecker(o: HttpCheckerOptions): Checker {
  const kind = o.tls ? 'https' : 'http';
  const hostHeader = o.virtualhost ?? hostPort(o.target.address, o.target.port).replace(o.tls ? /:443$/ : /:80$/, '');
  const base: HttpsRequestOptions = {
    host: o.target.address,
    port: o.target.port,
    path: o.path,
    method: 'GET',
    agent: false,
    headers: { host: hostHeader, 'user-agent': HTTP_USER_AGENT, connection: 'close' },
  };
  let setupError: string | null = null;
  if (o.tls) {
    const sni = o.enableSni ? (o.sniName ?? o.virtualhost) : undefined;
    // An empty servername stops Node from deriving SNI from the Host header: SNI only when asked, as keepalived.
    base.servername = sni && isIP(sni) === 0 ? sni : '';
    base.rejectUnauthorized = !!o.verify;
    if (o.ca) {
      try {
        base.ca = readFileSync(o.ca);
      } catch (err) {
        setupError = `cannot read ca ${o.ca}: ${errorReason(err)}`;
      }
    }
  }
  return {
    kind,
    name: `${kind} ${hostPort(o.target.address, o.target.port)}${o.path}`,
    check: (signal) => (setupError ? Promise.resolve(fail(setupError)) : get(o, base, signal)),
  };
}

function get(o: HttpCheckerOptions, options: RequestOptions, signal?: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    let req: ClientRequest | undefined;
    let done = false;
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req?.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish(fail('aborted'));
    const timer = setTimeout(() => finish(fail(`timeout after ${o.timeoutMs} ms`)), o.timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    req = (o.tls ? httpsRequest : httpRequest)(options, (res) => onResponse(o, res, finish));
    req.once('error', (err) => finish(fail(errorReason(err))));
    req.end();
  });
}

function onResponse(o: HttpCheckerOptions, res: IncomingMessage, finish: (r: CheckResult) => void): void {
  const status = res.statusCode ?? 0;
  if (!statusAccepted(status, o.statusCodes)) {
    finish(fail(`status ${status} not in ${formatStatusCodes(o.statusCodes)}`));
    return;
  }
  if (!o.digest) {
    finish(ok(`status ${status}`));
    return;
  }
  const md5 = createHash('md5');
  res.on('data', (chunk: Buffer) => md5.update(chunk));
  res.once('end', () => {
    const got = md5.digest('hex');
    finish(got === o.digest ? ok(`status ${status}, digest matches`) : fail(`digest ${got} differs from ${o.digest}`));
  });
  res.once('error', (err) => finish(fail(errorReason(err))));
}
