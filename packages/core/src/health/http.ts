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
import { createHash, type Hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { hostPort } from '../model/address.js';
import { errorReason, fail, ok, type Checker, type CheckSignal, type CheckResult, type CheckTarget } from './checker.js';
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

/** A response head bigger than this is not a health answer. */
const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

interface Prepared {
  o: HttpCheckerOptions;
  request: Buffer;
  tlsOptions: ConnectionOptions | null;
}

export function createHttpChecker(o: HttpCheckerOptions): Checker {
  const kind = o.tls ? 'https' : 'http';
  const host = o.virtualhost ?? hostPort(o.target.address, o.target.port).replace(o.tls ? /:443$/ : /:80$/, '');
  const request = Buffer.from(`GET ${o.path} HTTP/1.0\r\nUser-Agent: ${HTTP_USER_AGENT}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, 'latin1');
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
    const reader = new ResponseReader(o, finish);
    socket = p.tlsOptions ? tlsConnect(p.tlsOptions) : netConnect({ host: o.target.address, port: o.target.port });
    // Written at once: the socket holds it until the connection (and TLS handshake) is up.
    socket.write(p.request);
    socket.on('data', (chunk: Buffer) => reader.data(chunk));
    socket.on('end', () => reader.end());
    socket.on('error', (err) => finish(fail(errorReason(err))));
  });
}

/** Reads a close-delimited HTTP/1.0 answer: the status line, then (for a digest) the body's MD5. */
class ResponseReader {
  private head: Buffer | null = Buffer.alloc(0);
  private status = 0;
  private md5: Hash | null = null;
  private remaining = Infinity;

  constructor(
    private readonly o: HttpCheckerOptions,
    private readonly finish: (r: CheckResult) => void,
  ) {}

  data(chunk: Buffer): void {
    if (this.head === null) return this.body(chunk);
    this.head = this.head.length ? Buffer.concat([this.head, chunk]) : chunk;
    const end = this.head.indexOf(HEAD_END);
    if (end < 0) {
      if (this.head.length > MAX_HEAD) this.finish(fail('response head too large'));
      return;
    }
    const head = this.head.toString('latin1', 0, end);
    const rest = this.head.subarray(end + HEAD_END.length);
    this.head = null;
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(head);
    if (!m) return this.finish(fail('not an HTTP response'));
    this.status = Number(m[1]);
    if (!statusAccepted(this.status, this.o.statusCodes)) return this.finish(fail(`status ${this.status} not in ${formatStatusCodes(this.o.statusCodes)}`));
    if (!this.o.digest) return this.finish(ok(`status ${this.status}`));
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (length) this.remaining = Number(length[1]);
    this.md5 = createHash('md5');
    this.body(rest);
  }

  end(): void {
    if (this.head !== null) return this.finish(fail('connection closed before the response'));
    this.judgeDigest();
  }

  private body(chunk: Buffer): void {
    if (!this.md5) return;
    const part = chunk.length > this.remaining ? chunk.subarray(0, this.remaining) : chunk;
    this.md5.update(part);
    this.remaining -= part.length;
    // A server that keeps the connection open after a sized body has said all it will.
    if (this.remaining <= 0) this.judgeDigest();
  }

  private judgeDigest(): void {
    if (!this.md5) return;
    const got = this.md5.digest('hex');
    this.md5 = null;
    this.finish(got === this.o.digest ? ok(`status ${this.status}, digest matches`) : fail(`digest ${got} differs from ${this.o.digest}`));
  }
}
