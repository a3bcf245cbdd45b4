/**
 * A real Prometheus server (Debian package prometheus) scraping a real vsd's metrics listener on loopback, with the
 * listener's own token as a credentials file: the scrape is up, PromQL sees vsd's and node_exporter-style series with
 * their labels; a job without the token is refused (401) and shows as down.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, realServer, spawnVsd, TempDir, type VsdProcess } from './harness.js';

let dir: TempDir;
let running: VsdProcess | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await running?.stop();
  running = null;
  dir?.remove();
});

function getJson<T>(port: number, path: string): Promise<T | null> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? (JSON.parse(body) as T) : null));
    })
      .on('error', () => resolve(null))
      .end();
  });
}

interface Vector {
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}
interface Targets {
  data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
}

describe('Prometheus scraping the metrics listener', () => {
  it('scrapes with the metrics token; PromQL sees the series and labels; a scrape without the token is down', async () => {
    dir = new TempDir();
    const a = await realServer('rs-a', cleanups);
    const b = await realServer('rs-b', cleanups);
    const vip = await freePort();
    const metricsPort = await freePort();
    const token = dir.file('metrics.token', 'prometheus-reads-this\n');
    const config = dir.file(
      'vsd.yaml',
      `dataplane: proxy\nmetrics: { listen: "127.0.0.1:${metricsPort}", token_file: ${JSON.stringify(token)} }\nvirtual_servers:\n  - address: 127.0.0.1:${vip}\n    lb_algo: wrr\n    real_servers:\n      - address: 127.0.0.1:${a}\n        weight: 5\n      - address: 127.0.0.1:${b}\n`,
    );
    running = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none']);
    await running.waitForLog(/^vsd ready$/);
    for (let i = 0; i < 3; i++)
      await new Promise<void>((resolve, reject) => {
        const c = connect(vip, '127.0.0.1');
        c.on('data', () => undefined);
        c.on('end', () => resolve());
        c.on('error', reject);
      });

    const promPort = await freePort();
    const promConfig = dir.file(
      'prometheus.yml',
      `global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: vsd
    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]
    authorization: { credentials_file: ${JSON.stringify(token)} }
  - job_name: vsd-no-token
    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]
`,
    );
    const prom = spawn(
      'prometheus',
      [`--config.file=${promConfig}`, `--storage.tsdb.path=${join(dir.path, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let promLog = '';
    prom.stderr!.on('data', (c: Buffer) => (promLog += c.toString()));
    const failed = new Promise<never>((_, reject) =>
      prom.once('error', (err) =>
        reject(new Error(`prometheus could not run (${err.message}): install the Debian package prometheus (scripts/install-deps.sh)`)),
      ),
    );
    cleanups.push(() => prom.kill('SIGKILL'));

    const query = (q: string) => getJson<Vector>(promPort, `/api/v1/query?query=${encodeURIComponent(q)}`);
    const deadline = Date.now() + 40_000;
    for (;;) {
      const up = await Promise.race([query('up'), failed]);
      const values = new Map(up?.data.result.map((r) => [r.metric.job, r.value[1]]) ?? []);
      if (values.get('vsd') === '1' && values.get('vsd-no-token') === '0') break;
      if (prom.exitCode !== null) throw new Error(`prometheus exited ${prom.exitCode}: ${promLog}`);
      if (Date.now() > deadline) throw new Error(`no scrape within 40 s (up: ${JSON.stringify([...values])}): ${promLog.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const weights = (await query('vsd_real_server_effective_weight'))!.data.result;
    expect(new Map(weights.map((r) => [r.metric.real_server, r.value[1]]))).toEqual(
      new Map([
        [`127.0.0.1:${a}`, '5'],
        [`127.0.0.1:${b}`, '1'],
      ]),
    );
    expect(weights[0]!.metric).toMatchObject({ job: 'vsd', instance: `127.0.0.1:${metricsPort}`, service: `tcp 127.0.0.1:${vip}` });
    const backend = (await query(`node_ipvs_backend_weight{remote_port="${a}"}`))!.data.result;
    expect(backend).toHaveLength(1);
    expect(backend[0]!.metric).toMatchObject({ local_address: '127.0.0.1', local_port: String(vip), remote_address: '127.0.0.1', proto: 'TCP' });
    expect(backend[0]!.value[1]).toBe('5');
    const conns = (await query('sum(node_ipvs_connections_total)'))!.data.result;
    expect(conns[0]!.value[1]).toBe('3');

    const targets = (await getJson<Targets>(promPort, '/api/v1/targets'))!.data.activeTargets;
    const byJob = new Map(targets.map((t) => [t.labels.job, t]));
    expect(byJob.get('vsd')).toMatchObject({ health: 'up', lastError: '' });
    expect(byJob.get('vsd-no-token')!.health).toBe('down');
    expect(byJob.get('vsd-no-token')!.lastError).toMatch(/401/);
  });
});
