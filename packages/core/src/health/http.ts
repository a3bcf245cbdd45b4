/**
 * HTTP_GET and SSL_GET, as keepalived does them: a fresh connection per check, `GET path HTTP/1.0` with
 * `User-Agent: KeepAliveClient`, a Host header and `Connection: close`, and the answer read until the server
 * closes. Up when the status is in the accepted list (default 200-299) and, when a digest is set, the MD5 of the
 * body matches. The whole exchange must finish within connect_timeout.
 *
 * The request is written on a plain socket rather than with node:http: a health check needs the status line and
 * at most a close-delimited body (HTTP/1.0 has no chunked encoding), and skipping the HTTP client's agent and
 * parser machinery makes a check several times cheaper, which matters at a thousand checks a second. Without a
 * digest, the connection is dropped as soon as the status line is in.
 */
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { hostPort } from '../model/address.js';
import { errorReason, fail, type Checker, type CheckSignal, type CheckResult, type CheckTarget } from './checker.js';
import { HTTP_USER_AGENT } from './constants.js';
import { ResponseReader } from './http-response.js';
import type { StatusRange } from './status-codes.js';

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

interface Prepared {
  o: HttpCheckerOptions;
  request: Buffer;
  tlsOptions: ConnectionOptions | null;
}

export function createHttpChecker(o: HttpCheckerOptions): Checker {
  const kind = o.tls ? 'https' : 'http';
  const request = Buffer.from(httpRequestText(o), 'latin1');
  let setupError: string | null = null;
  let tlsOptions: ConnectionOptions | null = null;
  if (o.tls) {
    const sni = o.enableSni ? (o.sniName ?? o.virtualhost) : undefined;
    tlsOptions = { host: o.target.address, port: o.target.port, rejectUnauthorized: !!o.verify };
    // SNI only when asked (keepalived's enable_sni), and never an address (TLS forbids it).
    if (sni && isIP(sni) === 0) tlsOptions.servername = sni;
    if (o.ca) {
      try {
        tlsOptions.ca = readFileSync(o.ca);
      } catch (err) {
        setupError = `cannot read ca ${o.ca}: ${errorReason(err)}`;
      }
    }
  }
  const prepared: Prepared = { o, request, tlsOptions };
  return {
    kind,
    name: `${kind} ${hostPort(o.target.address, o.target.port)}${o.path}`,
    check: (signal) => (setupError ? Promise.resolve(fail(setupError)) : get(prepared, signal)),
  };
}

/** keepalived's request: `GET path HTTP/1.0`, its User-Agent, Host (the virtualhost, else ADDR[:PORT]), Connection: close. */
export function httpRequestText(o: Pick<HttpCheckerOptions, 'target' | 'tls' | 'path' | 'virtualhost'>): string {
  const host = o.virtualhost ?? hostPort(o.target.address, o.target.port).replace(o.tls ? /:443$/ : /:80$/, '');
  return `GET ${o.path} HTTP/1.0\r\nUser-Agent: ${HTTP_USER_AGENT}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}

function get(p: Prepared, signal?: CheckSignal): Promise<CheckResult> {
  const { o } = p;
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    let done = false;
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Done reading: a reset frees both ends at once (no FIN exchange, no TIME_WAIT) on plain TCP.
      // (Not while connecting: resetAndDestroy would wait for the connection, holding a hung one open.)
      if (socket && !p.tlsOptions && !socket.destroyed && !socket.connecting) socket.resetAndDestroy();
      else socket?.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish(fail('aborted'));
    const timer = setTimeout(() => finish(fail(`timeout after ${o.timeoutMs} ms`)), o.timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const reader = new ResponseReader(o.statusCodes, o.digest, finish);
    socket = p.tlsOptions ? tlsConnect(p.tlsOptions) : netConnect({ host: o.target.address, port: o.target.port });
    // Written at once: the socket holds it until the connection (and TLS handshake) is up.
    socket.write(p.request);
    socket.on('data', (chunk: Buffer) => reader.data(chunk));
    socket.on('end', () => reader.end());
    socket.on('error', (err) => finish(fail(errorReason(err))));
  });
}
