/**
 * vsd.yaml `metrics:`: the read-only listener for Prometheus and the status page.
 *   metrics: { listen: 127.0.0.1:9184, token_file: /etc/vsd/metrics.token, node_ipvs: true, refresh: 5 }
 * Its token, when set, is its own: it grants reading, never the control API (and vsd refuses the admin token here).
 */
import { parseListen, strictObject } from '@vsd/core';
import { z } from 'zod';

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9184';
export const DEFAULT_REFRESH_SECONDS = 5;

export const metricsConfigSchema = strictObject({
  listen: z
    .string()
    .refine((s) => parseListen(s) !== null, 'expected HOST:PORT (IPv6 as [ADDR]:PORT)')
    .default(DEFAULT_METRICS_LISTEN),
  /** A bearer token (or the password of HTTP basic auth, any user) readers must send; without it, anyone who reaches the port reads. */
  token_file: z.string().min(1).optional(),
  /** Also export node_exporter's ipvs collector series (node_ipvs_*); turn off where node_exporter's own collector scrapes this host. */
  node_ipvs: z.boolean().default(true),
  /** Seconds between status page reloads (0 = no reload); ?refresh=N in the URL wins. */
  refresh: z.number().int().min(0).max(3600).default(DEFAULT_REFRESH_SECONDS),
});

export type MetricsConfig = z.output<typeof metricsConfigSchema>;
