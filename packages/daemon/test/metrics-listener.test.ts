import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient } from '@vsd/core';
import { freePort, realServer, spawnVsd, TempDir, throughVip, type VsdProcess } from './harness.js';
import { promtoolCheck } from './promtool.js';

let dir: TempDir;
let running: VsdProcess | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await running?.stop();
  running = null;
  for (const c of cleanups.splice(0)) c();
  dir?.remove();
});

function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time (no keep-alive agent): a closed listener must show as refused, not as a hung-up old socket.
    const req = request({ host: '127.0.0.1', port, method, path, headers, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end();
  });
}

async function startWithMetrics(metrics: string, extra = ''): Promise<{ vsd: VsdProcess; port: number; vip: number; rs: number[] }> {
  dir = new TempDir();
  const rs = [await realServer('rs-a', cleanups), await realServer('rs-b', cleanups)];
  const vip = await freePort();
  const config = dir.file(
    'vsd.yaml',
    `dataplane: proxy\n${extra}metrics: ${metrics}\nvirtual_servers:\n  - address: 127.0.0.1:${vip}\n    lb_algo: wrr\n    real_servers:\n      - address: 127.0.0.1:${rs[0]}\n        weight: 2\n      - address: 127.0.0.1:${rs[1]}\n`,
  );
  const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none']);
  running = vsd;
  const ready = await vsd.waitForLog(/^metrics listener ready/);
  await vsd.waitForLog(/^vsd ready$/);
  return { vsd, port: ready.port as number, vip, rs };
}

describe('vsd metrics listener (read-only, own port)', () => {
  it('serves Prometheus text that promtool accepts, with node_exporter ipvs labels and live counters', async () => {
    const { port, vip, rs } = await startWithMetrics('{ listen: "127.0.0.1:0" }');
    const got = [await throughVip(vip), await throughVip(vip), await throughVip(vip)];
    expect(got.sort()).toEqual(['rs-a\n', 'rs-a\n', 'rs-b\n']);
    const r = await http(port, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(promtoolCheck(r.body)).toEqual({ code: 0, output: '' });
    expect(r.body).toContain('node_ipvs_connections_total 3\n');
    const labels = (p: number) => `local_address="127.0.0.1",local_port="${vip}",remote_address="127.0.0.1",remote_port="${p}",proto="TCP",local_mark=""`;
    expect(r.body).toContain(`node_ipvs_backend_weight{${labels(rs[0]!)}} 2\n`);
    expect(r.body).toContain(`node_ipvs_backend_weight{${labels(rs[1]!)}} 1\n`);
    expect(r.body).toContain(`vsd_real_server_connections_total{service="tcp 127.0.0.1:${vip}",real_server="127.0.0.1:${rs[0]}"} 2\n`);
    expect(r.body).toMatch(/^vsd_info\{node="[^"]+",dataplane="proxy",engine="[^"]+"\} 1$/m);
    expect(r.body).toContain('vsd_proxy_no_destination_total 0\n');
  });

  it('answers GET and HEAD only and has no route to the control API', async () => {
    const { vsd, port } = await startWithMetrics('{ listen: "127.0.0.1:0" }');
    const client = createControlClient({ socket: join(dir.path, 'vsd.sock') });
    const before = await client.get<{ generation: number }>('/v1/realservers');
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/metrics', '/v1/transactions', '/v1/ha/failover', '/v1/reload']) {
        const r = await http(port, method, path, { 'content-type': 'application/json' });
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.allow).toBe('GET, HEAD');
      }
    }
    for (const path of ['/v1/state', '/v1/status', '/v1/realservers', '/v1/ha', '/v1/agents', '/metrics/../v1/state']) {
      const r = await http(port, 'GET', path);
      expect(r.status, path).toBe(404);
    }
    const head = await http(port, 'HEAD', '/metrics');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await client.get<{ generation: number }>('/v1/realservers')).generation).toBe(before.generation);
    expect(vsd.logs.some((l) => l.msg === 'vsd ready')).toBe(true);
  });

  it('with a token file asks for its own token (bearer or basic), never the admin token', async () => {
    const tmp = new TempDir();
    cleanups.push(() => tmp.remove());
    const metricsToken = tmp.file('metrics.token', 'metrics-reader-token\n');
    const adminToken = tmp.file('control.token', 'admin-token-that-can-delete\n');
    const { port } = await startWithMetrics(
      `{ listen: "127.0.0.1:0", token_file: ${JSON.stringify(metricsToken)} }`,
      `control: { listen: "127.0.0.1:0", token_file: ${JSON.stringify(adminToken)} }\n`,
    );
    const none = await http(port, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm="vsd metrics"/);
    expect((await http(port, 'GET', '/metrics', { authorization: 'Bearer admin-token-that-can-delete' })).status).toBe(401);
    expect((await http(port, 'GET', '/metrics', { authorization: 'Bearer metrics-reader-token-x' })).status).toBe(401);
    expect((await http(port, 'GET', '/metrics', { authorization: 'Bearer metrics-reader-token' })).status).toBe(200);
    const basic = Buffer.from('prometheus:metrics-reader-token').toString('base64');
    expect((await http(port, 'GET', '/metrics', { authorization: `Basic ${basic}` })).status).toBe(200);
  });

  it('refuses to start when the metrics token is the admin token', async () => {
    dir = new TempDir();
    const token = dir.file('control.token', 'the-same-token\n');
    const copy = dir.file('metrics.token', 'the-same-token');
    const config = dir.file(
      'vsd.yaml',
      `dataplane: none\ncontrol: { listen: "127.0.0.1:0", token_file: ${JSON.stringify(token)} }\nmetrics: { listen: "127.0.0.1:0", token_file: ${JSON.stringify(copy)} }\n`,
    );
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none']);
    running = vsd;
    const exit = await vsd.exited;
    expect(exit.code).toBe(1);
    expect(vsd.stderr).toMatch(/metrics\.token_file: holds the control API's admin token/);
  });

  it('refuses an unknown key in the metrics section, naming it', async () => {
    dir = new TempDir();
    const config = dir.file('vsd.yaml', 'dataplane: none\nmetrics: { listen: "127.0.0.1:0", tokenfile: /x }\n');
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none']);
    running = vsd;
    expect((await vsd.exited).code).toBe(1);
    expect(vsd.stderr).toMatch(/metrics.*tokenfile/);
  });
});

describe('vsd metrics listener on reload', () => {
  it('follows the config: a new token takes effect, removing the section closes the port, adding it opens it again', async () => {
    dir = new TempDir();
    const token = dir.file('metrics.token', 'first-token\n');
    const port = await freePort();
    const write = (metrics: string | null) => dir.file('vsd.yaml', `dataplane: none\n${metrics === null ? '' : `metrics: ${metrics}\n`}virtual_servers: []\n`);
    const config = write(`{ listen: "127.0.0.1:${port}", token_file: ${JSON.stringify(token)} }`);
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none']);
    running = vsd;
    await vsd.waitForLog(/^vsd ready$/);
    const client = createControlClient({ socket: join(dir.path, 'vsd.sock') });
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    expect((await http(port, 'GET', '/metrics', bearer('first-token'))).status).toBe(200);

    dir.file('metrics.token', 'second-token\n');
    await client.post('/v1/reload', {});
    expect((await http(port, 'GET', '/metrics', bearer('first-token'))).status).toBe(401);
    expect((await http(port, 'GET', '/metrics', bearer('second-token'))).status).toBe(200);

    write(null);
    await client.post('/v1/reload', {});
    await expect(http(port, 'GET', '/metrics')).rejects.toThrow(/ECONNREFUSED/);

    write(`{ listen: "127.0.0.1:${port}" }`);
    await client.post('/v1/reload', {});
    expect((await http(port, 'GET', '/metrics')).status).toBe(200);
  });

  it('starts without a metrics section and opens nothing', async () => {
    dir = new TempDir();
    const config = dir.file('vsd.yaml', 'dataplane: none\n');
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none']);
    running = vsd;
    await vsd.waitForLog(/^vsd ready$/);
    expect(vsd.logs.some((l) => /metrics listener/.test(l.msg))).toBe(false);
  });
});
