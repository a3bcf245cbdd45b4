/** The local service probe: an HTTP GET or a TCP connect against the service this real server runs. */
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { parseListen, type ServiceProbeResult } from '@vsd/protocol';
import type { ProbeConfig } from './config.js';

export function runServiceProbe(cfg: ProbeConfig): Promise<ServiceProbeResult> {
  const t0 = Date.now();
  const timeoutMs = cfg.timeout * 1000;
  const done = (ok: boolean, detail: string | null): ServiceProbeResult => ({ ok, detail, ms: Date.now() - t0 });
  if (cfg.tcp_connect) {
    const at = parseListen(cfg.tcp_connect.address)!;
    return new Promise((resolve) => {
      const s = connect({ host: at.host, port: at.port, timeout: timeoutMs });
      s.once('connect', () => (s.destroy(), resolve(done(true, null))));
      s.once('timeout', () => (s.destroy(), resolve(done(false, `connect timed out after ${timeoutMs} ms`))));
      s.once('error', (err: NodeJS.ErrnoException) => resolve(done(false, `connect: ${err.code ?? err.message}`)));
    });
  }
  const http = cfg.http_get!;
  const url = new URL(http.url);
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : request)(url, { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      const ok = http.status_code !== undefined ? code === http.status_code : code >= 200 && code < 400;
      res.once('end', () => resolve(done(ok, ok ? null : `HTTP ${code}`)));
      res.once('error', (err) => resolve(done(false, `HTTP: ${err.message}`)));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (err: NodeJS.ErrnoException) => resolve(done(false, `HTTP: ${err.code ?? err.message}`)));
    req.end();
  });
}
