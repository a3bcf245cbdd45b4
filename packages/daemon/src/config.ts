/**
 * The vsd.yaml schema (DESIGN.md section 8): keepalived's key names, durations in seconds with fractions.
 * Misspelt and unknown keys are refused with a hint at the right one. `bgp:` and `drain_timeout` come out as
 * options in milliseconds (`BgpConfig`, `drainTimeoutMs`), like the sections of the other packages.
 *
 * The sections owned by other packages (`ha`, `peer`, `agents`, each real server's `checks`, the health keys of
 * a virtual server) are parsed by their packages' schemas: each is plugged in on one marked line below.
 */
import {
  agentsConfigSchema,
  canonicalAddress,
  checksConfigSchema,
  deepFreeze,
  KNOWN_SCHEDULERS,
  secondsToMs,
  strictObject as strictObjectWithHints,
  virtualServerHealthFields as healthFields,
} from '@vsd/core';
import { checkWitnessElectorate, haSectionSchema, peerConfigSchema } from '@vsd/ha';
import { z } from 'zod';
import { metricsConfigSchema } from './metrics/config.js';

const seconds = z.number().finite().min(0, 'durations are seconds >= 0');
const hostPort = z.string().regex(/^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+)(?::\d+)?$/, 'expected ADDRESS:PORT ([v6]:PORT for IPv6)');

// ---- sections parsed by the other packages' schemas (swap the placeholder for the import) ----
const haSection = haSectionSchema.optional(); // plugged by @vsd/ha (haSectionSchema: one instance or `instances:`)
const peerSection = peerConfigSchema.optional(); // plugged by @vsd/ha peer sync
const agentsSection = agentsConfigSchema.optional(); // plugged by the agents hub (@vsd/core agentsConfigSchema)
const metricsSection = metricsConfigSchema.optional(); // plugged by the metrics listener (./metrics/config.ts)
const checksSection = checksConfigSchema; // plugged by @vsd/core health (checksConfigSchema)
/** The health keys of a virtual server; plugged by @vsd/core health (virtualServerHealthFields). */
const virtualServerHealthFields = healthFields;
// ---- end of plugged sections ----

/** Keys from keepalived.conf (or common slips) that have another name here. */
const ALIASES: Record<string, string> = {
  lvs_sched: 'lb_algo',
  scheduler: 'lb_algo',
  lvs_method: 'lb_kind',
  forwarding: 'lb_kind',
  virtual_server: 'virtual_servers',
  real_server: 'real_servers',
  nb_get_retry: 'retry',
  timeout: 'persistence_timeout',
};

/** Every object of the file refuses unknown keys with a hint, keepalived's names pointed at ours. */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  return strictObjectWithHints(shape, { aliases: ALIASES });
}

export const realServerConfigSchema = strictObject({
  /** "IP:PORT"; the port may be left out for DR/TUN and fwmark services. */
  address: hostPort,
  weight: z.number().int().min(0).max(65535).default(1),
  uthreshold: z.number().int().min(0).max(2_147_483_647).default(0),
  lthreshold: z.number().int().min(0).max(2_147_483_647).default(0),
  /** keepalived allows the forwarding method per real server; default: the virtual server's lb_kind. */
  lb_kind: z.enum(['NAT', 'DR', 'TUN']).optional(),
  /** keepalived allows inhibit_on_failure per real server too; it overrides the virtual server's. */
  inhibit_on_failure: z.boolean().optional(),
  /** PROXY protocol v2 header toward this real server (proxy dataplane); default: the virtual server's. */
  proxy_protocol: z.boolean().optional(),
  checks: checksSection,
});

export const virtualServerConfigSchema = strictObject({
  address: hostPort.optional(),
  fwmark: z.number().int().min(1).max(0xffffffff).optional(),
  /** Address family of a fwmark service. */
  family: z.enum(['inet', 'inet6']).default('inet'),
  protocol: z
    .enum(['tcp', 'udp', 'sctp', 'TCP', 'UDP', 'SCTP'])
    .default('tcp')
    .transform((p) => p.toLowerCase() as 'tcp' | 'udp' | 'sctp'),
  lb_algo: z
    .string()
    .default('wlc')
    .refine((s) => KNOWN_SCHEDULERS.includes(s), { message: `unknown scheduler; one of ${KNOWN_SCHEDULERS.join(' ')}` }),
  /** keepalived's default is NAT (ipvsadm's is DR). */
  lb_kind: z.enum(['NAT', 'DR', 'TUN']).default('NAT'),
  /** Seconds; null (the key without a value) = 360 as in keepalived; fractions are rounded up to whole seconds. */
  persistence_timeout: seconds.max(2_678_400).nullable().default(0),
  /** A netmask (255.255.255.0) or a prefix length (24). */
  persistence_granularity: z.union([z.string(), z.number().int().min(0).max(128)]).optional(),
  persistence_engine: z.literal('sip').optional(),
  /** One-packet scheduling (UDP). */
  ops: z.boolean().default(false),
  sched_flags: z.array(z.enum(['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port', 'flag-1', 'flag-2', 'flag-3'])).default([]),
  /**
   * Send a PROXY protocol v2 header to the real servers (proxy dataplane only), so they see the client's address
   * as HAProxy's `send-proxy-v2` gives it; a real server's own `proxy_protocol` overrides this.
   */
  proxy_protocol: z.boolean().default(false),
  ...virtualServerHealthFields,
  real_servers: z.array(realServerConfigSchema).default([]),
});

/** The routing daemon's control socket when `bgp.socket` is not set. */
export const DEFAULT_DAEMON_SOCKET = { bird: '/run/bird/bird.ctl', frr: '/var/run/frr/bgpd.vty' } as const;

/**
 * `bgp:` as the BGP component uses it: camelCase, durations in milliseconds, the socket's default filled, the VIPs
 * canonical. Plain frozen data (it crosses from the config parser thread as JSON).
 */
export interface BgpConfig {
  readonly daemon: 'bird' | 'frr';
  readonly socket: string;
  readonly protocolPrefix: string;
  /** Absent: the addresses of the configured virtual servers. */
  readonly vips?: readonly string[];
  readonly bfd: boolean;
  readonly announceDelayMs: number;
  readonly shutdownDelayMs: number;
  readonly checkIntervalMs: number;
}

/**
 * `bgp:`: announce the VIPs this dispatcher can serve through a routing daemon (BIRD 2), withdraw them on health
 * loss, `vsctl bgp drain` and shutdown. docs/bgp.md has the BIRD side. Parsed into {@link BgpConfig}.
 */
export const bgpConfigSchema = strictObject({
  daemon: z.enum(['bird', 'frr']).default('bird'),
  /** The daemon's control socket: BIRD's (`birdc -s`, default /run/bird/bird.ctl) or FRR bgpd's vty socket (default /var/run/frr/bgpd.vty). */
  socket: z.string().min(1).optional(),
  /** BIRD: each VIP is the static protocol PREFIX + the VIP with `.`/`:` as `_` (vsd_192_0_2_10). */
  protocol_prefix: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a BIRD symbol: letters, digits, _ (not starting with a digit)')
    .default('vsd_'),
  /** VIPs to announce; default: the addresses of the configured virtual servers. */
  vips: z.array(z.string().refine((s) => canonicalAddress(s) !== null, 'not an IPv4 or IPv6 address')).optional(),
  /** Expect BFD sessions in the daemon: shown in the status, warned about when none is up. */
  bfd: z.boolean().default(false),
  /** Seconds a VIP must stay servable before it is announced (again): a hold-down against flapping health. */
  announce_delay: seconds.max(3600).default(1),
  /** Seconds between the withdraw and the connection drain on SIGTERM, for the upstream router to move new flows. */
  shutdown_delay: seconds.max(300).default(1),
  /** Seconds between checks of the daemon's routes (re-asserted after a BIRD restart or `configure`), and retries. */
  check_interval: seconds.min(0.1).max(300).default(1),
}).transform(
  (b): BgpConfig =>
    deepFreeze({
      daemon: b.daemon,
      socket: b.socket ?? DEFAULT_DAEMON_SOCKET[b.daemon],
      protocolPrefix: b.protocol_prefix,
      ...(b.vips !== undefined ? { vips: b.vips.map((v) => canonicalAddress(v)!) } : {}),
      bfd: b.bfd,
      announceDelayMs: secondsToMs(b.announce_delay),
      shutdownDelayMs: secondsToMs(b.shutdown_delay),
      checkIntervalMs: secondsToMs(b.check_interval),
    }),
);

/** `xdp:`: the xdp dataplane's interface and options (read only with `dataplane: xdp`). */
export const xdpConfigSchema = strictObject({
  /** The interface VIP traffic arrives on; DR packets leave by it too. */
  interface: z
    .string()
    .min(1)
    .max(15)
    .regex(/^[^\s/]+$/, 'an interface name'),
  /** native (driver), generic (skb) or auto (native, else generic). */
  mode: z.enum(['native', 'generic', 'auto']).default('auto'),
  /** Outer source address of IPIP packets (default: the interface's first IPv4 address). */
  tunnel_source: z
    .string()
    .refine((s) => canonicalAddress(s) !== null && !s.includes(':'), 'an IPv4 address')
    .optional(),
  /** Connection-table entries (LRU; default 65536). */
  conn_table_size: z.number().int().min(1024).max(16_777_216).optional(),
  /** When the program cannot start (no clang at build, verifier, no XDP): start `proxy` or `none` instead (logged), or `off`: fail. */
  fallback: z.enum(['proxy', 'none', 'off']).default('off'),
});

export const vsdConfigSchema = strictObject({
  dataplane: z.enum(['proxy', 'ipvs', 'xdp', 'none']).optional(),
  xdp: xdpConfigSchema.optional(),
  /**
   * Who moves TCP bytes in the proxy dataplane: `epoll` (a dedicated thread on libc sockets), `node` (Node's net
   * sockets), `auto` (epoll when it can run here). Ignored by the other dataplanes.
   */
  proxy_engine: z.enum(['auto', 'epoll', 'node']).optional(),
  /**
   * Epoll engine threads of the proxy dataplane (default 1; `auto`: one per CPU). More than one spreads TCP over
   * the cores; rr/wrr stay one sequence, lc/wlc and thresholds count every thread's connections, persistence stays exact. Ignored by the other dataplanes.
   */
  proxy_threads: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).optional(),
  /**
   * UDP flows the proxy dataplane keeps, all UDP services together (each holds a socket; default: half the open-file
   * limit). When full, flows that never saw a reply are evicted first, then new flows are refused.
   */
  proxy_udp_max_flows: z.number().int().min(1).optional(),
  /** UDP flows one UDP service may keep (default: proxy_udp_max_flows). */
  proxy_udp_max_flows_per_service: z.number().int().min(1).optional(),
  /**
   * Where TCP_CHECK and HTTP_GET run: `epoll` (a probe thread on libc sockets), `node` (Node's sockets), `auto`
   * (epoll when it can run here). HTTPS and MISC_CHECK always run on Node.
   */
  health_engine: z.enum(['auto', 'epoll', 'node']).optional(),
  control: strictObject({
    socket: z.string().min(1).optional(),
    /** Optional TCP listener "HOST:PORT", which requires token_file. */
    listen: z.string().min(1).optional(),
    token_file: z.string().min(1).optional(),
  }).optional(),
  /** Seconds to let connections finish on SIGTERM (--drain-timeout wins). */
  drain_timeout: seconds.optional(),
  ha: haSection,
  peer: peerSection,
  agents: agentsSection,
  metrics: metricsSection,
  bgp: bgpConfigSchema.optional(),
  virtual_servers: z.array(virtualServerConfigSchema).default([]),
})
  .superRefine((c, ctx) => {
    // ha.witness against the agents section: an electorate that can never give a majority is refused here.
    const w = c.ha?.witness;
    if (!w) return;
    const admission = c.agents ? { named: Object.keys(c.agents.agentKeys), requireAgentKey: c.agents.requireAgentKey } : null;
    const r = checkWitnessElectorate(w, admission);
    if ('message' in r) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ha', 'witness', ...r.path], message: r.message });
  })
  .transform(({ drain_timeout, ...c }) => ({
    ...c,
    /** drain_timeout in ms; absent: --drain-timeout or the daemon's default. */
    ...(drain_timeout !== undefined ? { drainTimeoutMs: secondsToMs(drain_timeout) } : {}),
  }));

export type VsdConfig = z.output<typeof vsdConfigSchema>;
export type VirtualServerConfig = z.output<typeof virtualServerConfigSchema>;
export type XdpConfig = z.output<typeof xdpConfigSchema>;
export type RealServerConfig = z.output<typeof realServerConfigSchema>;
