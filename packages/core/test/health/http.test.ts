import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpChecker, type HttpCheckerOptions } from '../../src/health/http.js';
import { parseStatusCodes } from '../../src/health/status-codes.js';
import { startHttpBackend, type HttpBackend } from './backends.js';
import { ENGINES, httpChecker, type Engine } from './engines.js';
import { selfSignedCert } from './tls.js';

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
let web: HttpBackend;
let tlsWeb: HttpBackend;
let certPath: string;

beforeAll(async () => {
  const cert = selfSignedCert(mkdtempSync(join(tmpdir(), 'vsd-health-http-')), 'www.rs.test');
  certPath = cert.certPath;
  web = await startHttpBackend();
  tlsWeb = await startHttpBackend({ tls: cert });
});
afterAll(async () => {
  await web.close();
  await tlsWeb.close();
});

const httpOn = (engine: Engine, o: Partial<HttpCheckerOptions> = {}) =>
  httpChecker(engine, { target: { address: '127.0.0.1', port: web.port }, tls: false, path: '/', statusCodes: [[200, 299]], timeoutMs: 1000, ...o });
const https = (o: Partial<HttpCheckerOptions> = {}) =>
  createHttpChecker({ target: { address: '127.0.0.1', port: tlsWeb.port }, tls: true, path: '/', statusCodes: [[200, 299]], timeoutMs: 1000, ...o });

describe.each(ENGINES)('HTTP_GET (engine: $engine)', ({ engine }) => {
  const http = (o: Partial<HttpCheckerOptions> = {}) => httpOn(engine, o);

  it('sends GET path with keepalived headers: User-Agent, Host (virtualhost), Connection: close', async () => {
    web.requests.length = 0;
    expect(await http({ path: '/health?x=1', virtualhost: 'www.example.test' }).check()).toEqual({ ok: true, reason: 'status 200' });
    const req = web.requests[0]!;
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/health?x=1');
    expect(req.headers['user-agent']).toBe('KeepAliveClient');
    expect(req.headers.host).toBe('www.example.test');
    expect(req.headers.connection).toBe('close');
    await http().check();
    expect(web.requests[1]!.headers.host).toBe(`127.0.0.1:${web.port}`);
  });

  it('judges the status against lists and ranges (default 200-299)', async () => {
    web.status = 503;
    expect(await http().check()).toEqual({ ok: false, reason: 'status 503 not in 200-299' });
    expect((await http({ statusCodes: parseStatusCodes('200-299 500-503') }).check()).ok).toBe(true);
    web.status = 301;
    expect((await http().check()).ok).toBe(false);
    expect((await http({ statusCodes: parseStatusCodes([301, 302]) }).check()).ok).toBe(true);
    web.status = 200;
  });

  it('compares the MD5 digest of the body', async () => {
    web.body = 'all good\n';
    expect(await http({ digest: md5('all good\n') }).check()).toEqual({ ok: true, reason: 'status 200, digest matches' });
    web.body = 'maintenance\n';
    const r = await http({ digest: md5('all good\n') }).check();
    expect(r.ok).toBe(false);
    expect(r.reason).toBe(`digest ${md5('maintenance\n')} differs from ${md5('all good\n')}`);
    web.body = 'hello\n';
  });

  it('fails when the server accepts but never answers, within the timeout', async () => {
    await web.set('hang');
    const t0 = Date.now();
    expect(await http({ timeoutMs: 200 }).check()).toEqual({ ok: false, reason: 'timeout after 200 ms' });
    expect(Date.now() - t0).toBeLessThan(2500);
    await web.set('up');
  });

  it('fails with the errno when the server is down', async () => {
    await web.set('down');
    expect(await http().check()).toEqual({ ok: false, reason: 'ECONNREFUSED' });
    await web.set('up');
    expect((await http().check()).ok).toBe(true);
  });
});

describe('SSL_GET', () => {
  it('checks over TLS without verification by default', async () => {
    expect(await https().check()).toEqual({ ok: true, reason: 'status 200' });
  });

  it('verifies the certificate when asked: refused without the CA, accepted with it and the right SNI name', async () => {
    const bad = await https({ verify: true }).check();
    expect(bad.ok).toBe(false);
    expect(bad.reason).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
    expect(await https({ verify: true, ca: certPath, enableSni: true, sniName: 'www.rs.test' }).check()).toEqual({ ok: true, reason: 'status 200' });
    const wrongName = await https({ verify: true, ca: certPath, enableSni: true, sniName: 'other.rs.test' }).check();
    expect(wrongName).toEqual({ ok: false, reason: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('sends SNI only when enable_sni is set (sni_name, else the virtualhost)', async () => {
    tlsWeb.requests.length = 0;
    await https({ virtualhost: 'www.rs.test' }).check();
    await https({ virtualhost: 'www.rs.test', enableSni: true }).check();
    await https({ virtualhost: 'www.rs.test', enableSni: true, sniName: 'sni.rs.test' }).check();
    const names = tlsWeb.requests.map((r) => (r.socket as TLSSocket).servername);
    expect(names).toEqual([false, 'www.rs.test', 'sni.rs.test']);
  });

  it('fails on an unreadable CA file naming it', async () => {
    expect(await https({ verify: true, ca: '/nonexistent/ca.pem' }).check()).toEqual({ ok: false, reason: 'cannot read ca /nonexistent/ca.pem: ENOENT' });
  });
});

describe.each(ENGINES)('HTTP_GET response reading (engine: $engine)', ({ engine }) => {
  type Script = (socket: import('node:net').Socket) => void;
  async function rawServer(script: Script): Promise<{ port: number; close(): Promise<void> }> {
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('data', () => script(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      port: (server.address() as { port: number }).port,
      close: () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    };
  }
  const check = (port: number, o: Partial<HttpCheckerOptions> = {}) =>
    httpChecker(engine, { target: { address: '127.0.0.1', port }, tls: false, path: '/', statusCodes: [[200, 299]], timeoutMs: 1000, ...o }).check();

  it('takes a sized body from a server that keeps the connection open, and a head split over packets', async () => {
    const srv = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-');
      setTimeout(() => s.write('Length: 5\r\n\r\nhel'), 20);
      setTimeout(() => s.write('lo'), 40);
    });
    // Within the 1 s timeout although the server never closes: Content-Length ended the body.
    expect(await check(srv.port, { digest: md5('hello') })).toEqual({ ok: true, reason: 'status 200, digest matches' });
    await srv.close();
  });

  it('refuses what is not HTTP, and a connection closed before any answer', async () => {
    const ssh = await rawServer((s) => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));
    expect(await check(ssh.port)).toEqual({ ok: false, reason: 'not an HTTP response' });
    const closer = await rawServer((s) => s.end());
    expect(await check(closer.port)).toEqual({ ok: false, reason: 'connection closed before the response' });
    await ssh.close();
    await closer.close();
  });

  it('hashes a close-delimited body to its end', async () => {
    const srv = await rawServer((s) => {
      s.write('HTTP/1.0 200 OK\r\n\r\npart one, ');
      setTimeout(() => s.end('part two'), 20);
    });
    expect(await check(srv.port, { digest: md5('part one, part two') })).toEqual({ ok: true, reason: 'status 200, digest matches' });
    await srv.close();
  });

  it('sends an HTTP/1.0 request line', async () => {
    let line = '';
    const { createServer } = await import('node:net');
    const server = createServer((s) => {
      // The checker closes with a reset once it has its answer (no TIME_WAIT): that is expected here.
      s.on('error', () => undefined);
      s.once('data', (d) => {
        line = String(d).split('\r\n')[0]!;
        s.end('HTTP/1.0 204 No Content\r\n\r\n');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    expect(await check((server.address() as { port: number }).port, { path: '/status?full=1' })).toEqual({ ok: true, reason: 'status 204' });
    expect(line).toBe('GET /status?full=1 HTTP/1.0');
    await new Promise<void>((r) => server.close(() => r()));
  });
});
