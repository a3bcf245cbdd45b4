/**
 * The model's single source of truth: zod schemas for virtual services, real servers and the desired-state
 * document, with IPVS's limits and ipvsadm's defaults. Everything that enters vsd (config file, control API,
 * peer sync, state file) is parsed here; parsing either returns a frozen-shape value or throws a
 * ValidationError naming the field and the value.
 */
import { z } from 'zod';
import { ThresholdRangeError, ValidationError } from '../errors.js';
import { ipAddress, parseWith } from '@vsd/protocol';

export { parseWith } from '@vsd/protocol';
import { familyOf, hostPort } from './address.js';
import {
  DEFAULT_FORWARDING,
  DEFAULT_SCHEDULER,
  DEFAULT_TIMEOUTS,
  DEFAULT_WEIGHT,
  MAX_THRESHOLD,
  MAX_TIMEOUT,
  MAX_WEIGHT,
  SCHED_NAME_MAX,
  MAX_GENERATION,
} from './constants.js';

/** Declared with the wire formats (agent frames carry addresses too); one definition for both. */
export { ipAddress };

const port = z.number().int().min(0).max(65535);
const u32 = z.number().int().min(0).max(0xffffffff);

export const protocolSchema = z.enum(['tcp', 'udp', 'sctp']);
export type Protocol = z.infer<typeof protocolSchema>;
export const forwardingSchema = z.enum(['masq', 'route', 'tunnel']);
export type ForwardingMethod = z.infer<typeof forwardingSchema>;
export const schedFlagSchema = z.enum(['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port', 'flag-1', 'flag-2', 'flag-3']);

export const tunnelSchema = z
  .object({
    type: z.enum(['ipip', 'gue', 'gre']).default('ipip'),
    port: port.default(0),
    csum: z.enum(['nocsum', 'csum', 'remcsum']).default('nocsum'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.type === 'gue' && t.port === 0) ctx.addIssue({ code: 'custom', path: ['port'], message: 'a gue tunnel needs a port' });
    if (t.type !== 'gue' && t.port !== 0) ctx.addIssue({ code: 'custom', path: ['port'], message: 'only gue tunnels take a port' });
    if (t.type === 'ipip' && t.csum !== 'nocsum') ctx.addIssue({ code: 'custom', path: ['csum'], message: 'ipip tunnels take no checksum option' });
    if (t.type === 'gre' && t.csum === 'remcsum') ctx.addIssue({ code: 'custom', path: ['csum'], message: 'remcsum is for gue only' });
  });
export type TunnelOptions = z.infer<typeof tunnelSchema>;

export const realServerSchema = z
  .object({
    address: ipAddress,
    port,
    forwarding: forwardingSchema.default(DEFAULT_FORWARDING),
    weight: z.number().int().min(0).max(MAX_WEIGHT).default(DEFAULT_WEIGHT),
    upperThreshold: z.number().int().min(0).max(MAX_THRESHOLD).default(0),
    lowerThreshold: z.number().int().min(0).max(MAX_THRESHOLD).default(0),
    tunnel: tunnelSchema.nullable().default(null),
  })
  .strict()
  .superRefine((rs, ctx) => {
    if (rs.tunnel && rs.forwarding !== 'tunnel') ctx.addIssue({ code: 'custom', path: ['tunnel'], message: 'tunnel options conflict with forward method' });
  });
export type RealServer = z.infer<typeof realServerSchema>;

const persistenceSchema = z
  .object({
    /** Seconds; 0 = not persistent. */
    timeout: z.number().int().min(0).max(MAX_TIMEOUT).default(0),
    /** Client address granularity as a prefix length (IPv4 -M 255.255.255.0 = 24). Default: the whole address. */
    netmask: z.number().int().min(0).max(128).optional(),
  })
  .strict();

const serviceOptions = {
  scheduler: z
    .string()
    .min(1)
    .max(SCHED_NAME_MAX)
    .regex(/^[a-z0-9_]+$/, 'scheduler names are lower-case letters, digits and _')
    .default(DEFAULT_SCHEDULER),
  schedFlags: z.array(schedFlagSchema).default([]),
  persistence: persistenceSchema.default({}),
  pe: z.string().min(1).max(SCHED_NAME_MAX).nullable().default(null),
  onePacket: z.boolean().default(false),
  realServers: z.array(realServerSchema).default([]),
};

export const inetServiceSchema = z.object({ protocol: protocolSchema, address: ipAddress, port, ...serviceOptions }).strict();
export const fwmarkServiceSchema = z.object({ fwmark: u32.min(1), family: z.enum(['inet', 'inet6']).default('inet'), ...serviceOptions }).strict();

export type InetService = z.infer<typeof inetServiceSchema>;
export type FwmarkService = z.infer<typeof fwmarkServiceSchema>;
export type VirtualService = InetService | FwmarkService;

export const inetServiceIdSchema = z.object({ protocol: protocolSchema, address: ipAddress, port }).strict();
export const fwmarkServiceIdSchema = z.object({ fwmark: u32.min(1), family: z.enum(['inet', 'inet6']).default('inet') }).strict();
export type ServiceId = z.infer<typeof inetServiceIdSchema> | z.infer<typeof fwmarkServiceIdSchema>;

export const syncDaemonSchema = z
  .object({
    state: z.enum(['master', 'backup']),
    mcastInterface: z.string().min(1).max(15).default('eth0'),
    syncId: z.number().int().min(0).max(255).default(0),
    maxlen: z.number().int().min(1).max(65507).optional(),
    group: ipAddress.optional(),
    port: z.number().int().min(1).max(65535).optional(),
    ttl: z.number().int().min(1).max(255).optional(),
  })
  .strict();
export type SyncDaemon = z.infer<typeof syncDaemonSchema>;

export const timeoutsSchema = z
  .object({
    tcp: z.number().int().min(0).max(MAX_TIMEOUT),
    tcpfin: z.number().int().min(0).max(MAX_TIMEOUT),
    udp: z.number().int().min(0).max(MAX_TIMEOUT),
  })
  .strict();
export type Timeouts = z.infer<typeof timeoutsSchema>;

export const desiredStateSchema = z
  .object({
    version: z.literal(1).default(1),
    generation: z.number().int().min(0).max(MAX_GENERATION).default(0),
    services: z.array(z.unknown()).default([]),
    timeouts: timeoutsSchema.default({ ...DEFAULT_TIMEOUTS }),
    syncDaemons: z.array(syncDaemonSchema).default([]),
  })
  .strict();
export interface DesiredState {
  version: 1;
  generation: number;
  services: VirtualService[];
  timeouts: Timeouts;
  syncDaemons: SyncDaemon[];
}

export function isFwmark<T extends ServiceId | VirtualService>(id: T): id is Extract<T, { fwmark: number }> {
  return 'fwmark' in id;
}

export function serviceFamily(svc: ServiceId | VirtualService): 'inet' | 'inet6' {
  return isFwmark(svc) ? svc.family : familyOf(svc.address);
}

/** A virtual service from any input, with cross-field rules IPVS enforces. */
export function parseVirtualService(input: unknown, prefix = 'service'): VirtualService {
  const isMark = typeof input === 'object' && input !== null && 'fwmark' in input;
  const svc: VirtualService = isMark ? parseWith(fwmarkServiceSchema, input, prefix) : parseWith(inetServiceSchema, input, prefix);
  checkServiceRules(svc, input, prefix);
  svc.realServers = svc.realServers.map((rs, i) => normaliseRealServer(svc, rs, `${prefix}.realServers.${i}`));
  return svc;
}

export function parseServiceId(input: unknown, prefix = 'service'): ServiceId {
  const isMark = typeof input === 'object' && input !== null && 'fwmark' in input;
  return isMark ? parseWith(fwmarkServiceIdSchema, input, prefix) : parseWith(inetServiceIdSchema, input, prefix);
}

export function parseRealServer(svc: ServiceId, input: unknown, prefix = 'server'): RealServer {
  return normaliseRealServer(svc, parseWith(realServerSchema, input, prefix), prefix);
}

function checkServiceRules(svc: VirtualService, input: unknown, prefix: string): void {
  const raw = input as Record<string, unknown>;
  if (!isFwmark(svc) && svc.port === 0 && svc.persistence.timeout === 0)
    throw new ValidationError(`${prefix}.port`, raw.port, 'zero port specified for non-persistent service');
  if (svc.onePacket && !isFwmark(svc) && svc.protocol !== 'udp')
    throw new ValidationError(`${prefix}.onePacket`, raw.onePacket, 'one-packet scheduling is only for UDP virtual services');
  for (const f of svc.schedFlags) {
    const owner = f.startsWith('sh-') ? 'sh' : f.startsWith('mh-') ? 'mh' : null;
    if (owner && owner !== svc.scheduler) throw new ValidationError(`${prefix}.schedFlags`, f, `incompatible scheduler flag for scheduler ${svc.scheduler}`);
  }
  const maxPrefix = serviceFamily(svc) === 'inet' ? 32 : 128;
  const nm = svc.persistence.netmask;
  if (nm !== undefined && (nm > maxPrefix || (maxPrefix === 128 && nm < 1)))
    throw new ValidationError(`${prefix}.persistence.netmask`, nm, `netmask prefix must be within 0..${maxPrefix}`);
}

function normaliseRealServer(svc: ServiceId, rs: RealServer, prefix: string): RealServer {
  // The kernel refuses l_threshold > u_threshold with ERANGE, even when u_threshold is 0.
  if (rs.lowerThreshold > rs.upperThreshold) throw new ThresholdRangeError(hostPort(rs.address, rs.port), rs.upperThreshold, rs.lowerThreshold);
  if (familyOf(rs.address) !== serviceFamily(svc) && rs.forwarding !== 'tunnel')
    throw new ValidationError(`${prefix}.address`, rs.address, 'different address family is allowed only for tunneling servers');
  const tunnel = rs.forwarding === 'tunnel' ? (rs.tunnel ?? { type: 'ipip' as const, port: 0, csum: 'nocsum' as const }) : null;
  // DR and TUN cannot rewrite the port: IPVS forwards to the service port for non-fwmark services.
  const port = rs.forwarding !== 'masq' && !isFwmark(svc) ? svc.port : rs.port;
  return { ...rs, port, tunnel };
}
