/**
 * Client of the vsd control API (docs/control-api.md): the only way the CLIs talk to a dispatcher.
 */
import { request as httpRequest } from 'node:http';
import { controlRoutes, type BodyOf, type Reply, type RouteName } from '@vsd/protocol/control';
import { InternalError, VsdError } from '../errors.js';

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

/** Options of one call. */
export interface CallOptions {
  /** This call's own answer deadline (a large transaction takes longer than the default). */
  timeoutMs?: number;
  /** Query string parameters (GET /v1/ha?instance=VI_1). */
  query?: Record<string, string>;
}

export interface ControlClient {
  readonly where: string;
  /**
   * A route of the contract (@vsd/protocol's controlRoutes) by name, its reply typed as declared:
   * `await client.call('status')` is a StatusReply. POST routes send `body` (default `{}`).
   */
  call<N extends RouteName>(name: N, body?: BodyOf<N>, opts?: CallOptions): Promise<Reply<N>>;
  /** Untyped access by path (tests, paths outside the contract). */
  get<T = unknown>(path: string): Promise<T>;
  /** `timeoutMs`: this call's own answer deadline (a large transaction takes longer than the default). */
  post<T = unknown>(path: string, body?: unknown, opts?: { timeoutMs?: number }): Promise<T>;
}

export function createControlClient(options: ControlClientOptions = {}): ControlClient {
  const socket = options.socket ?? process.env.VSD_SOCKET ?? DEFAULT_SOCKET;
  const url = options.url ? new URL(options.url) : null;
  const where = url ? url.origin : socket;
  const defaultTimeoutMs = options.timeoutMs ?? 10_000;

  const call = <T>(method: string, path: string, body?: unknown, timeoutMs = defaultTimeoutMs, asText = false): Promise<T> =>
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
            else resolve((asText ? text : doc) as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(new ControlUnreachableError(where, err.code ?? err.message)));
      req.end(payload);
    });

  return typedClient({
    where,
    get: (p) => call('GET', p),
    post: (p, b, o) => call('POST', p, b ?? {}, o?.timeoutMs),
    text: (method, p, b, o) => call(method, p, b, o?.timeoutMs, true),
  });
}

/** The untyped side of a client: what a test double implements (`text` only for text routes). */
export type RawControlClient = Pick<ControlClient, 'where' | 'get' | 'post'> & {
  text?(method: string, path: string, body?: unknown, opts?: { timeoutMs?: number }): Promise<string>;
};

/**
 * Give `raw` (in place) a `call` that goes through its get/post, by the route table's method and path; get/post are
 * looked up at each call, so a test double may swap them later.
 */
export function typedClient<T extends RawControlClient>(raw: T): T & ControlClient {
  const client = raw as T & ControlClient;
  client.call = function call<N extends RouteName>(name: N, body?: unknown, opts?: CallOptions): Promise<Reply<N>> {
    const r = controlRoutes[name];
    const path = opts?.query && Object.keys(opts.query).length ? `${r.path}?${new URLSearchParams(opts.query)}` : r.path;
    if ('text' in r && r.text === true) {
      if (!raw.text) return Promise.reject(new InternalError(`${name} answers text; this client reads JSON only`));
      return raw.text(r.method, path, r.method === 'GET' ? undefined : (body ?? {}), opts) as Promise<Reply<N>>;
    }
    const timeout = opts?.timeoutMs === undefined ? undefined : { timeoutMs: opts.timeoutMs };
    return r.method === 'GET' ? client.get<Reply<N>>(path) : client.post<Reply<N>>(path, body ?? {}, timeout);
  };
  return client;
}
