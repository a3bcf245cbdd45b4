/**
 * Client of the vsd control API (docs/control-api.md): the only way the CLIs talk to a dispatcher.
 */
import { request as httpRequest } from 'node:http';
import { VsdError } from '../errors.js';

export const DEFAULT_SOCKET = '/run/vsd/vsd.sock';

export interface ControlClientOptions {
  /** Unix socket path (default VSD_SOCKET or /run/vsd/vsd.sock). Ignored when `url` is set. */
  socket?: string;
  /** http://HOST:PORT of a TCP listener. */
  url?: string;
  token?: string;
  timeoutMs?: number;
}

/** The dispatcher did not answer at all (no socket, refused, timeout). */
export class ControlUnreachableError extends VsdError {
  constructor(where: string, reason: string) {
    super('VSD_ERR_CONTROL_UNREACHABLE', `cannot reach vsd at ${where}: ${reason}`, { details: { where, reason } });
  }
}

/** The dispatcher answered with an error document; code/errno/details are the server's. */
export class ControlRequestError extends VsdError {
  readonly status: number;
  constructor(status: number, body: { code?: string; message?: string; errno?: string; details?: Record<string, unknown> }) {
    super(body.code ?? 'VSD_ERR_CONTROL', body.message ?? `HTTP ${status}`, {
      errno: body.errno as never,
      details: body.details ?? {},
    });
    this.status = status;
  }
}

export interface ControlClient {
  readonly where: string;
  get<T = unknown>(path: string): Promise<T>;
  /** `timeoutMs`: this call's own answer deadline (a large transaction takes longer than the default). */
  post<T = unknown>(path: string, body?: unknown, opts?: { timeoutMs?: number }): Promise<T>;
}

export function createControlClient(options: ControlClientOptions = {}): ControlClient {
  const socket = options.socket ?? process.env.VSD_SOCKET ?? DEFAULT_SOCKET;
  const url = options.url ? new URL(options.url) : null;
  const where = url ? url.origin : socket;
  const defaultTimeoutMs = options.timeoutMs ?? 10_000;

  const call = <T>(method: string, path: string, body?: unknown, timeoutMs = defaultTimeoutMs): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const req = httpRequest(
        // One connection per call (agent: false): the CLIs make a handful of calls, and a kept-alive connection
        // the server closed while idle (its keep-alive timeout, or vsd busy with a large transaction) would fail
        // at reuse with EPIPE/ECONNRESET, reported as "cannot reach vsd".
        url
          ? { host: url.hostname, port: url.port, path, method, headers, timeout: timeoutMs, agent: false }
          : { socketPath: socket, path, method, headers, timeout: timeoutMs, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let doc: unknown;
            try {
              doc = text ? JSON.parse(text) : {};
            } catch {
              doc = { error: { message: text } };
            }
            const status = res.statusCode ?? 500;
            if (status >= 400) reject(new ControlRequestError(status, (doc as { error?: object }).error ?? {}));
            else resolve(doc as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(new ControlUnreachableError(where, err.code ?? err.message)));
      req.end(payload);
    });

  return { where, get: (p) => call('GET', p), post: (p, b, o) => call('POST', p, b ?? {}, o?.timeoutMs) };
}
