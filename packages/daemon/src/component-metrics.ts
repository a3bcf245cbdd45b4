/**
 * The metrics listener inside vsd (`metrics:` in vsd.yaml): Prometheus text at GET /metrics and the status page at
 * GET /status (and /status.json) on its own port, read-only, open or behind a token of its own, never the control
 * API's token. It reads the other components through their
 * GET status routes in-process (DaemonContext.readRoute), so it depends on no component's internals.
 */
import { hostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@vsd/core';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';
import type { MetricsConfig } from './metrics/config.js';
import { startMetricsListener, tokenDigest, type MetricsListener, type PageHandler } from './metrics/listener.js';
import { renderPrometheus } from './metrics/render.js';
import { collectSnapshot, type Snapshot } from './metrics/snapshot.js';
import { renderStatusPage } from './metrics/status-html.js';
import { buildStatusView } from './metrics/status-view.js';

/** Always present, so a reload (SIGHUP) can add, change or remove the `metrics:` section without a restart. */
export const metricsComponent: ComponentFactory = () => new MetricsComponent();

export class MetricsComponent implements DaemonComponent {
  readonly name = 'metrics';
  private listener: MetricsListener | null = null;
  private applied = '';
  private inflight: Promise<Snapshot> | null = null;
  private ctx!: DaemonContext;

  /** The bound address (port 0 resolved); null before start. */
  get address(): { address: string; port: number } | null {
    return this.listener?.address ?? null;
  }

  async start(ctx: DaemonContext): Promise<void> {
    this.ctx = ctx;
    if (ctx.config.metrics) await this.open(ctx.config.metrics);
  }

  async reload(ctx: DaemonContext): Promise<void> {
    this.ctx = ctx;
    if (!ctx.config.metrics) {
      // The section was removed: stop serving rather than keep a port the config no longer mentions.
      if (this.listener) ctx.logger.child({ component: 'metrics' }).info('metrics listener closed (metrics: removed from the config)');
      await this.stop();
      return;
    }
    const cfg = ctx.config.metrics;
    // The token file may have changed on disk even when the section did not: reopen on every reload.
    if (JSON.stringify(cfg) === this.applied && !cfg.token_file && this.listener) return;
    await this.stop();
    await this.open(cfg);
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
  }

  private async open(cfg: MetricsConfig): Promise<void> {
    const log = this.ctx.logger.child({ component: 'metrics' });
    const digest = cfg.token_file ? tokenDigest(await readToken(cfg.token_file)) : null;
    const adminFile = this.ctx.config.control?.token_file;
    if (digest && adminFile) {
      const admin = await readFile(adminFile, 'utf8').then(
        (t) => t.trim(),
        () => null,
      );
      // The metrics token is handed to scrapers and dashboards; were it the admin token, it could delete services.
      if (admin && tokenDigest(admin).equals(digest))
        throw new ConfigError('metrics.token_file', `holds the control API's admin token (${adminFile}); give the metrics listener a token of its own`);
    }
    this.listener = await startMetricsListener({ listen: cfg.listen, tokenDigest: digest, pages: this.pages(cfg), logger: log });
    this.applied = JSON.stringify(cfg);
  }

  private pages(cfg: MetricsConfig): Record<string, PageHandler> {
    return {
      '/metrics': async () => ({
        body: renderPrometheus(await this.snapshot(), { nodeIpvs: cfg.node_ipvs }),
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
      }),
      '/status': async (query) => ({
        body: renderStatusPage(buildStatusView(await this.snapshot(), refreshOf(query, cfg.refresh))),
        contentType: 'text/html; charset=utf-8',
      }),
      '/status.json': async () => ({
        body: `${JSON.stringify(buildStatusView(await this.snapshot(), cfg.refresh), null, 2)}\n`,
        contentType: 'application/json; charset=utf-8',
      }),
      '/': () => ({
        body: '<!doctype html><meta charset="utf-8"><title>vsd</title><p><a href="/status">/status</a> (status page) · <a href="/status.json">/status.json</a> · <a href="/metrics">/metrics</a> (Prometheus)</p>\n',
        contentType: 'text/html; charset=utf-8',
      }),
    };
  }

  /** Scrapes arriving together share one read of the dataplane and the components. */
  private snapshot(): Promise<Snapshot> {
    this.inflight ??= collectSnapshot({
      store: this.ctx.store,
      overlay: this.ctx.overlay,
      dataplane: this.ctx.dataplane,
      readRoute: (p) => this.ctx.readRoute(p),
      node: hostname(),
    }).finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }
}

/** ?refresh=N (0..3600 whole seconds); anything else keeps the configured refresh. */
function refreshOf(query: URLSearchParams, fallback: number): number {
  const q = query.get('refresh');
  return q !== null && /^\d{1,4}$/.test(q) && Number(q) <= 3600 ? Number(q) : fallback;
}

async function readToken(path: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new ConfigError('metrics.token_file', `cannot read ${path}: ${(err as Error).message}`);
  }
  if (!token) throw new ConfigError('metrics.token_file', `${path} is empty`);
  return token;
}
