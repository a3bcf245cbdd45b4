/**
 * The control API server (docs/control-api.md): HTTP/1.1 + JSON on a unix socket (mode 0600) and, optionally,
 * on TCP with a bearer token. The CLIs use nothing else, so every change to the dispatcher enters here as a
 * validated transaction on the desired-state store.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { connect, isIPv6 } from 'node:net';
import { dirname } from 'node:path';
import { ConfigError, ControlProtocolError, ControlSocketError, invariant } from '../errors.js';
import { silentLogger, type Logger } from '@vsd/sys';
import type { Dataplane } from '../dataplane/types.js';
import type { StateStore } from '../state/store.js';
import type { WeightOverlay } from '../weights/overlay.js';
import { readJsonBody } from './body.js';
import { coreRoutes } from './routes-core.js';
import type { RouteContract } from '@vsd/protocol/control';
import { controlRoutes } from '@vsd/protocol/control';
import { errorBody, RawResponse, Router, statusForError, undeclaredRoutes, type ControlRoute } from './routes.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Limits against clients that hold connections open (slowloris) or never finish a request. The TCP listener is
 * reachable before authentication, so it gets fewer connections and shorter deadlines than the unix socket
 * (mode 0600, root only); a full TCP listener leaves the unix socket usable.
 */
export interface ControlConnectionLimits {
  /** Open connections at once; more are closed at accept. */
  maxConnections: number;
  /** Time from connection (or the previous request) to the end of a request's headers, ms. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included, ms. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this, ms. */
  keepAliveTimeoutMs: number;
}

export const TCP_CONNECTION_LIMITS: ControlConnectionLimits = {
  maxConnections: 64,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5000,
};
export const UNIX_CONNECTION_LIMITS: ControlConnectionLimits = {
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5000,
};

export interface ControlServerOptions {
  store: StateStore;
  overlay: WeightOverlay;
  dataplane: Dataplane;
  logger?: Logger;
  /** Unix socket path; created with mode 0600. */
  socket: string;
  /** Optional TCP listener "HOST:PORT" ("[::1]:9180" for IPv6); requires `tokenFile`. */
  listen?: string;
  /** File holding the bearer token TCP clients must send (surrounding white space ignored). */
  tokenFile?: string;
  /** Routes of optional components (HA, agents, health, peer sync); more can be added later with `addRoutes`. */
  extraRoutes?: readonly ControlRoute[];
  /** Resolves when the dataplane reflects every committed transaction. */
  settled?: () => Promise<void>;
  /** Sections optional components add to GET /v1/status. */
  statusSections?: () => Promise<Record<string, unknown>>;
  /** Body limit of routes without their own (`ControlRoute.maxBodyBytes`); default 1 MiB. */
  maxBodyBytes?: number;
  /** Body limit of POST /v1/transactions (a whole `vsadm -R`); default 64 MiB. */
  maxTransactionBytes?: number;
  /**
   * The routes this server may register (default: @vsd/protocol's controlRoutes). A route outside it is refused at
   * registration, so nothing is served without a declared contract; tests of the router widen it.
   */
  contract?: Readonly<Record<string, RouteContract>>;
  /** Override the connection limits of either listener (tests). */
  tcpLimits?: Partial<ControlConnectionLimits>;
  unixLimits?: Partial<ControlConnectionLimits>;
}

export interface ControlServer {
  readonly socket: string;
  /** The bound TCP address (port 0 resolved), or null without a TCP listener. */
  readonly tcpAddress: { address: string; port: number } | null;
  /** Register more endpoints; returns a function that removes them again. */
  addRoutes(routes: readonly ControlRoute[]): () => void;
  /**
   * Answer a GET inside the process, without a socket or a token: how the read-only metrics listener reaches the
   * components' status routes. GET only, so nothing reached this way can change the dispatcher; an absent route
   * (component not configured) throws VSD_ERR_NO_ROUTE.
   */
  read(path: string): Promise<unknown>;
  /** Stop accepting, let requests in flight finish for up to `graceMs`, remove the socket file. */
  close(graceMs?: number): Promise<void>;
}

export async function createControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const log = (options.logger ?? silentLogger).child({ component: 'control' });
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const router = new Router();
  const contract = options.contract ?? controlRoutes;
  const register = (routes: readonly ControlRoute[]): void => {
    const undeclared = undeclaredRoutes(routes, contract);
    invariant(!undeclared.length, () => `control routes not declared in @vsd/protocol: ${undeclared.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    router.add(routes);
  };
  register(coreRoutes(options));
  register(options.extraRoutes ?? []);

  if (options.listen && !options.tokenFile)
    throw new ConfigError('control.listen', `a TCP listener (${options.listen}) needs a token file (control.token_file / --token-file)`);
  const tokenDigest = options.tokenFile ? digest(await readToken(options.tokenFile)) : null;

  const handler = (via: 'unix' | 'tcp') => (req: IncomingMessage, res: ServerResponse) =>
    void handle(req, res, via).catch((err) => log.error({ err }, 'control request failed'));

  async function handle(req: IncomingMessage, res: ServerResponse, via: 'unix' | 'tcp'): Promise<void> {
    const started = Date.now();
    try {
      if (via === 'tcp') authorize(req, tokenDigest!);
      const url = new URL(req.url ?? '/', 'http://vsd');
      const { route, params } = router.match(req.method ?? 'GET', url.pathname);
      const body = await readJsonBody(req, route.maxBodyBytes ?? maxBody);
      const out = await route.handler({ body, params, query: url.searchParams, via, raw: req });
      if (out instanceof RawResponse) send(res, out.status, out.body, out.contentType);
      else send(res, 200, JSON.stringify(out ?? {}), 'application/json');
      log.debug({ method: req.method, path: url.pathname, via, ms: Date.now() - started }, 'control request');
    } catch (err) {
      const status = statusForError(err);
      if (status >= 500) log.error({ err, method: req.method, url: req.url }, 'control request failed');
      else {
        const code = errorBody(err).error.code;
        // vsctl probes optional components' routes: a missing route is routine, not news.
        log[code === 'VSD_ERR_NO_ROUTE' ? 'debug' : 'info']({ method: req.method, url: req.url, status, code }, 'control request refused');
      }
      // A refused body may be unread: close the connection rather than parse what follows as a request. A
      // client that failed authentication gets no second try on the same connection.
      send(res, status, errorText(err), 'application/json', !req.complete || status === 401);
    }
  }

  await prepareSocketPath(options.socket, log);
  const unixServer = createServer(serverOptions({ ...UNIX_CONNECTION_LIMITS, ...options.unixLimits }), handler('unix'));
  applyLimits(unixServer, { ...UNIX_CONNECTION_LIMITS, ...options.unixLimits }, log, 'unix');
  await listenUnix(unixServer, options.socket);
  const socketIno = lstatSync(options.socket).ino;
  log.info({ socket: options.socket }, 'control API listening on unix socket');

  let tcpServer: Server | null = null;
  let tcpAddress: { address: string; port: number } | null = null;
  if (options.listen) {
    const { host, port } = parseHostPort(options.listen);
    const limits = { ...TCP_CONNECTION_LIMITS, ...options.tcpLimits };
    tcpServer = createServer(serverOptions(limits), handler('tcp'));
    applyLimits(tcpServer, limits, log, 'tcp');
    try {
      await listenTcp(tcpServer, host, port);
    } catch (err) {
      unixServer.close();
      await unlink(options.socket).catch(() => undefined);
      throw err;
    }
    const a = tcpServer.address() as { address: string; port: number };
    tcpAddress = { address: a.address, port: a.port };
    log.info(tcpAddress, 'control API listening on TCP (bearer token required)');
  }

  return {
    socket: options.socket,
    tcpAddress,
    addRoutes(routes) {
      register(routes);
      return () => router.remove(routes);
    },
    async read(path) {
      const url = new URL(path, 'http://vsd');
      const { route, params } = router.match('GET', url.pathname);
      return route.handler({ body: undefined, params, query: url.searchParams, via: 'internal' });
    },
    async close(graceMs = 2000) {
      const servers = [unixServer, tcpServer].filter((s): s is Server => s !== null);
      const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      for (const s of servers) s.closeIdleConnections();
      const timer = setTimeout(() => servers.forEach((s) => s.closeAllConnections()), graceMs);
      await closed;
      clearTimeout(timer);
      // Only remove the socket if it is still ours (a successor may already have replaced it).
      const st = await lstat(options.socket).catch(() => null);
      if (st && st.ino === socketIno) await unlink(options.socket).catch(() => undefined);
    },
  };
}

function serverOptions(l: ControlConnectionLimits): ServerOptions {
  // The deadlines are checked every connectionsCheckingInterval (Node's default 30 s would stretch them).
  const check = Math.max(100, Math.min(1000, Math.floor(l.headersTimeoutMs / 4)));
  return { headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.keepAliveTimeoutMs, connectionsCheckingInterval: check };
}

function applyLimits(server: Server, l: ControlConnectionLimits, log: Logger, via: 'unix' | 'tcp'): void {
  server.maxConnections = l.maxConnections;
  let last = -Infinity;
  let dropped = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    log.warn({ via, maxConnections: l.maxConnections, dropped }, 'control API: connection limit reached, closing new connections');
    dropped = 0;
  });
  // Garbage on the connection (not HTTP, headers too large) gets a 400, a deadline missed a 408, when the
  // socket can still take it; then the connection is closed. A peer that is already gone gets nothing.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    socket.on('error', () => undefined);
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code?.startsWith('HPE_') ? '400 Bad Request' : null;
    if (status && socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    socket.destroy();
  });
}

/** The error document as text; an error whose details cannot be serialised (too deep, cyclic) loses them. */
function errorText(err: unknown): string {
  try {
    return JSON.stringify(errorBody(err));
  } catch {
    const e = errorBody(err).error;
    return JSON.stringify({ error: { code: e.code, message: e.message, details: {} } });
  }
}

function send(res: ServerResponse, status: number, body: string, contentType: string, close = false): void {
  if (res.headersSent) return;
  const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

async function readToken(path: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError(path, `cannot read the control token file: ${(err as Error).message}`);
  }
  if (!token) throw new ConfigError(path, 'the control token file is empty');
  return token;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Bearer token check; comparing digests keeps it constant-time whatever the lengths. */
function authorize(req: IncomingMessage, expected: Buffer): void {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m || !timingSafeEqual(digest(m[1]!), expected))
    throw new ControlProtocolError('VSD_ERR_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <token>)');
}

/** Refuse a foreign file or a live socket at `path`; remove a stale socket nobody listens on. */
async function prepareSocketPath(path: string, log: Logger): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!st) return;
  if (!st.isSocket()) throw new ControlSocketError(path, 'exists and is not a socket (a foreign file); refusing to replace it');
  if (await isListening(path)) throw new ControlSocketError(path, 'another process is listening on it (is vsd already running?)');
  await unlink(path);
  log.warn({ socket: path }, 'removed a stale control socket (nobody was listening on it)');
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(1000, () => done(true));
    s.once('connect', () => done(true));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}

async function listenUnix(server: Server, path: string): Promise<void> {
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // bind() creates the socket file with the umask's mode and runs synchronously inside listen(): tighten the
  // umask for that call only, so there is no window in which another local user could connect before the chmod.
  const previous = process.umask(0o177);
  try {
    server.listen(path);
  } finally {
    process.umask(previous);
  }
  await listening;
  await chmod(path, 0o600);
}

function listenTcp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** "HOST:PORT" or "[V6]:PORT". */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || !host || port > 65535 || (m[1] !== undefined && !isIPv6(host)))
    throw new ConfigError('control.listen', `expected HOST:PORT or [IPV6]:PORT, got ${JSON.stringify(text)}`);
  return { host, port };
}
