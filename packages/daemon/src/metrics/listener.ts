/**
 * The read-only HTTP listener of the metrics component: a fixed table of GET pages (Prometheus text, the status page,
 * its JSON) and nothing else. It has no route to the control API's router, so no request here can reach a route that
 * changes the dispatcher, whatever its path or method; it answers GET and HEAD only.
 *
 * With a token file, readers authenticate with `Authorization: Bearer <token>` (Prometheus' `authorization`) or HTTP
 * basic auth with the token as password and any user name (browsers, Prometheus' `basic_auth`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parseListen, type Logger } from '@vsd/core';

export interface Page {
  body: string;
  contentType: string;
  status?: number;
  headers?: Record<string, string>;
}

export type PageHandler = (query: URLSearchParams) => Promise<Page> | Page;

export interface MetricsListenerOptions {
  listen: string;
  /** sha256 of the token readers must present; null = open. */
  tokenDigest: Buffer | null;
  pages: Readonly<Record<string, PageHandler>>;
  logger: Logger;
}

export interface MetricsListener {
  readonly address: { address: string; port: number };
  close(): Promise<void>;
}

/** The pages are HTML without scripts, so the policy forbids every script and every fetch from other origins. */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const MAX_CONNECTIONS = 64;

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const log = options.logger;
  const { host, port } = parseListen(options.listen)!;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'metrics request failed');
      send(res, 500, 'internal error\n', 'text/plain; charset=utf-8');
    });
  });
  // A scraper or a browser, never a long upload: bound what a slow or hostile client can hold.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 30_000;
  server.maxHeadersCount = 64;
  server.maxConnections = MAX_CONNECTIONS;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A body on a GET is not read: discard it rather than let it fill the socket buffers.
    req.resume();
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, `${method} is not allowed: this listener is read-only\n`, 'text/plain; charset=utf-8', { allow: 'GET, HEAD' });
      return;
    }
    if (options.tokenDigest && !authorized(req, options.tokenDigest)) {
      send(res, 401, 'missing or wrong token (Authorization: Bearer <token>, or basic auth with the token as password)\n', 'text/plain; charset=utf-8', {
        'www-authenticate': 'Basic realm="vsd metrics", charset="UTF-8"',
      });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://vsd');
    const page = Object.hasOwn(options.pages, url.pathname) ? options.pages[url.pathname] : undefined;
    if (!page) {
      send(res, 404, `no such page: ${url.pathname} (try ${Object.keys(options.pages).join(', ')})\n`, 'text/plain; charset=utf-8');
      return;
    }
    const out = await page(url.searchParams);
    send(res, out.status ?? 200, method === 'HEAD' ? null : out.body, out.contentType, out.headers, Buffer.byteLength(out.body));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'metrics listener error'));
  const a = server.address() as { address: string; port: number };
  log.info({ address: a.address, port: a.port, token: options.tokenDigest !== null }, 'metrics listener ready (read-only)');
  return {
    address: { address: a.address, port: a.port },
    close: () => closeServer(server),
  };
}

function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const h = req.headers.authorization ?? '';
  let presented: string | null = null;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (bearer) presented = bearer[1]!;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
  if (basic) {
    const text = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon >= 0) presented = text.slice(colon + 1);
  }
  // Comparing digests keeps the comparison constant-time whatever the lengths.
  return presented !== null && timingSafeEqual(tokenDigest(presented), expected);
}

function send(
  res: ServerResponse,
  status: number,
  body: string | null,
  contentType: string,
  headers: Record<string, string> = {},
  length = body === null ? 0 : Buffer.byteLength(body),
): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': contentType, 'content-length': length });
  res.end(body ?? undefined);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive scrapers would otherwise hold the close until their idle timeout.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}
