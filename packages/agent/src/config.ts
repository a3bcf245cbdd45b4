/**
 * The vsd-agent YAML (DESIGN.md section 8). Durations are seconds and accept fractions.
 *
 *   dispatchers: [10.77.0.11:9182, 10.77.0.12:9182]
 *   key_file: /etc/vsd/agent.key
 *   report_interval: 1
 *   probe: { http_get: { url: http://127.0.0.1:80/ } }
 *   mounts:
 *     - { path: /var/www/html, fstype: nfs4, source: "10.77.0.30:/export", sentinel: .vsd-sentinel, timeout: 2 }
 *   agent_check: { listen: 0.0.0.0:9183, max_connections: 64 }
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, ipAddress, parseListen, parseWith } from '@vsd/protocol';
import { parseYamlConfig, type YamlWarning } from '@vsd/sys';
import { z } from 'zod';

const hostPortText = z.string().refine((s) => parseListen(s) !== null, 'expected HOST:PORT (IPv6 as [ADDR]:PORT)');
const seconds = z.number().positive().max(3600);
const range = z.tuple([z.number().min(0), z.number().min(0)]).refine(([lo, hi]) => hi > lo, 'the high mark must exceed the low mark');

const probeSchema = z
  .object({
    http_get: z
      .object({ url: z.string().url(), status_code: z.number().int().min(100).max(599).optional() })
      .strict()
      .optional(),
    tcp_connect: z.object({ address: hostPortText }).strict().optional(),
    timeout: seconds.default(1),
  })
  .strict()
  .refine((p) => (p.http_get ? 1 : 0) + (p.tcp_connect ? 1 : 0) === 1, 'give exactly one of http_get or tcp_connect');

const mountSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .refine((p) => p.startsWith('/'), 'an absolute path'),
    fstype: z.string().min(1).optional(),
    source: z.string().min(1).optional(),
    /** File under the mount whose SHA-256 must agree across the group. */
    sentinel: z
      .string()
      .min(1)
      .refine((s) => !s.split('/').includes('..'), 'a path inside the mount')
      .optional(),
    /** Seconds a probe may take before the mount counts as not responding. */
    timeout: seconds.default(2),
    /** Consistency group (default: the expected source, else the path). */
    group: z.string().min(1).optional(),
    /** Write, fsync and read back a probe file each interval. */
    write_probe: z.boolean().default(true),
  })
  .strict();

export const loadSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** The weight percentage never goes below this from load alone (draining is for failures, not for being busy). */
    min_weight: z.number().int().min(0).max(100).default(10),
    load_per_core: range.default([0.7, 2]),
    cpu: range.default([0.6, 0.95]),
    memory: range.default([0.85, 0.98]),
    /** Established connections at which the connection signal is full; 0 = not a signal. */
    max_connections: z.number().int().min(0).default(0),
  })
  .strict();
export type LoadConfig = z.infer<typeof loadSchema>;

export const agentConfigSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .max(253)
      .default(() => hostname()),
    /** Addresses the dispatchers match against RIPs; default: every non-loopback interface address. */
    addresses: z.array(ipAddress).min(1).max(64).optional(),
    dispatchers: z.array(hostPortText).min(1).max(8),
    key_file: z.string().min(1),
    report_interval: seconds.default(1),
    probe: probeSchema.optional(),
    mounts: z.array(mountSchema).max(64).default([]),
    /** max_connections: open at one time (each is answered and closed at once; more are closed at accept). */
    agent_check: z
      .object({ listen: hostPortText, max_connections: z.number().int().min(1).max(100_000).default(64) })
      .strict()
      .optional(),
    /** While this file exists the agent reports maintenance (dispatchers drain, HAProxy gets `maint`). */
    maintenance_file: z.string().min(1).optional(),
    load: loadSchema.default({}),
    /** Where loadavg, stat, meminfo and net/tcp{,6} are read (containers with a bind-mounted host /proc; tests). */
    proc_root: z.string().min(1).default('/proc'),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * Act as a split-brain witness for the dispatchers (feature vote/1): grant each VRRP instance's lease to one
     * dispatcher at a time. Costs nothing unless a dispatcher configures `ha.witness`; false never votes.
     */
    witness: z.boolean().default(true),
  })
  .strict();
export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type MountConfig = AgentConfig['mounts'][number];
export type ProbeConfig = NonNullable<AgentConfig['probe']>;

export function parseAgentConfig(input: unknown): AgentConfig {
  const cfg = parseWith(agentConfigSchema, input, 'config');
  // Mount paths are compared to /proc/self/mountinfo as text: normalise without touching the filesystem (a hung mount).
  cfg.mounts = cfg.mounts.map((m) => ({ ...m, path: resolve(m.path) }));
  return cfg;
}

/**
 * Read and validate the agent's config file. `warnings` are the YAML parser's (an unresolved tag, ...), for the
 * caller to log once its logger exists (the file sets the log level); a duplicate key is a ConfigError naming it.
 */
export function loadAgentConfig(path: string): { config: AgentConfig; warnings: YamlWarning[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, `cannot read: ${(err as Error).message}`);
  }
  const { value, warnings } = parseYamlConfig(text, path);
  return { config: parseAgentConfig(value ?? {}), warnings };
}
