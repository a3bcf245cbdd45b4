/**
 * The agent protocol (version 1): JSON text frames over WebSocket between `vsd-agent` (on a real server) and a
 * dispatcher. Both sides validate every frame with these schemas; a frame that fails is dropped and counted.
 *
 *   agent -> dispatcher   hello { agent, addresses, nonce, interval }
 *   dispatcher -> agent   challenge { dispatcher, nonce, proof }      proof = HMAC(key, responder, ...)
 *   agent -> dispatcher   auth { proof }                              proof = HMAC(key, initiator, ...)
 *   dispatcher -> agent   welcome { silentAfter }  |  refused { code, message } and close
 *   agent -> dispatcher   report { ... } every `interval` seconds
 *
 * Witness votes (feature `vote/1`, see vote-protocol.ts): an agent that lists it in hello.features can be asked
 *   dispatcher -> agent   vote-request { vrid, seq, leaseMs }  |  vote-release { vrid }
 *   agent -> dispatcher   vote { vrid, seq, granted, remainingMs }
 * A dispatcher sends these only to agents that announced the feature, so agents without it keep working.
 *
 * The key never crosses the wire; both sides prove it over both nonces (see ../auth/challenge.ts).
 */
import { z } from 'zod';
import { ipAddress } from '../schema.js';
import { voteReleaseSchema, voteRequestSchema } from './vote.js';

export const AGENT_PROTOCOL_VERSION = 1;
/** HMAC context label: a proof made for the peer channel is useless on the agent channel and vice versa. */
export const AGENT_AUTH_CONTEXT = 'vsd-agent/1';
/** WebSocket close codes (4000-4999 are the application's). */
export const CLOSE_AUTH_FAILED = 4001;
export const CLOSE_BAD_FRAMES = 4002;
export const CLOSE_REPLACED = 4003;
export const CLOSE_AUTH_TIMEOUT = 4004;
/** The dispatcher forgot a silent agent (agents.forget_after); it may reconnect and start afresh. */
export const CLOSE_FORGOTTEN = 4005;
export const MAX_FRAME_BYTES = 64 * 1024;
/** hello and auth are small (a hello with 64 IPv6 addresses is under 5 KiB): a larger frame before auth is refused. */
export const MAX_PREAUTH_FRAME_BYTES = 16 * 1024;

const v = z.literal(AGENT_PROTOCOL_VERSION);
const nonce = z.string().min(16).max(128);
const name = z.string().min(1).max(253);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');
const fraction = z.number().min(0).max(1);

export const helloSchema = z
  .object({
    v,
    type: z.literal('hello'),
    agent: name,
    addresses: z.array(ipAddress).min(1).max(64),
    nonce,
    /** Report interval in seconds: the dispatcher counts silence in these. */
    interval: z.number().min(0.05).max(3600),
    software: z.string().max(100).optional(),
    /** Optional protocol features this agent speaks (e.g. `vote/1`); unknown ones are ignored. */
    features: z.array(z.string().min(1).max(40)).max(16).optional(),
  })
  .strict();

export const authSchema = z.object({ v, type: z.literal('auth'), proof: z.string().min(1).max(200) }).strict();

export const serviceProbeSchema = z.object({ ok: z.boolean(), detail: z.string().max(500).nullable(), ms: z.number().min(0) }).strict();
export type ServiceProbeResult = z.infer<typeof serviceProbeSchema>;

export const loadReportSchema = z
  .object({
    /** 1-minute load average divided by the number of CPUs. */
    loadPerCore: z.number().min(0),
    /** Busy CPU fraction over the last interval. */
    cpu: fraction,
    /** 1 - MemAvailable / MemTotal. */
    memory: fraction,
    /** Established TCP connections (IPv4 + IPv6). */
    connections: z.number().int().min(0),
    /** What the agent asks the dispatcher to apply: effective weight x weightPct / 100. */
    weightPct: z.number().int().min(0).max(100),
  })
  .strict();
export type LoadReport = z.infer<typeof loadReportSchema>;

export const mountReportSchema = z
  .object({
    path: z.string().min(1).max(4096),
    /** Consistency group: agents whose mounts share a group must hold the same sentinel. */
    group: z.string().min(1).max(4096),
    present: z.boolean(),
    fstype: z.string().max(255).nullable(),
    source: z.string().max(4096).nullable(),
    expectedFstype: z.string().max(255).nullable(),
    expectedSource: z.string().max(4096).nullable(),
    readOnly: z.boolean(),
    /** null until the first probe finished. */
    responsive: z.boolean().nullable(),
    writable: z.boolean().nullable(),
    /** SHA-256 of the sentinel file, null when no sentinel is configured or it could not be read. */
    sentinel: sha256.nullable(),
    sentinelConfigured: z.boolean(),
    error: z.string().max(1000).nullable(),
    probeMs: z.number().min(0).nullable(),
  })
  .strict();
export type MountReport = z.infer<typeof mountReportSchema>;

export const reportSchema = z
  .object({
    v,
    type: z.literal('report'),
    seq: z.number().int().min(0),
    at: z.number().int().min(0),
    service: serviceProbeSchema.nullable(),
    load: loadReportSchema,
    mounts: z.array(mountReportSchema).max(64),
    /** The operator put the node in maintenance (agent's maintenance_file exists). */
    maintenance: z.boolean(),
  })
  .strict();
export type AgentReport = z.infer<typeof reportSchema>;

export const agentMessageSchema = z.discriminatedUnion('type', [helloSchema, authSchema, reportSchema]);
export type AgentMessage = z.infer<typeof agentMessageSchema>;
export type HelloMessage = z.infer<typeof helloSchema>;

export const challengeSchema = z.object({ v, type: z.literal('challenge'), dispatcher: name, nonce, proof: z.string().min(1).max(200) }).strict();
export const welcomeSchema = z.object({ v, type: z.literal('welcome'), silentAfter: z.number().int().min(1) }).strict();
export const refusedSchema = z.object({ v, type: z.literal('refused'), code: z.string(), message: z.string().max(1000) }).strict();
export const dispatcherMessageSchema = z.discriminatedUnion('type', [challengeSchema, welcomeSchema, refusedSchema, voteRequestSchema, voteReleaseSchema]);
export type DispatcherMessage = z.infer<typeof dispatcherMessageSchema>;

export type FrameResult<T> = { ok: true; msg: T } | { ok: false; reason: string };

/** Parse one text frame; never throws. */
export function parseFrame<S extends z.ZodTypeAny>(schema: S, data: unknown): FrameResult<z.output<S>> {
  let text: string;
  if (typeof data === 'string') text = data;
  else if (Buffer.isBuffer(data)) text = data.toString('utf8');
  else if (Array.isArray(data)) text = Buffer.concat(data as Buffer[]).toString('utf8');
  else if (data instanceof ArrayBuffer) text = Buffer.from(data).toString('utf8');
  else return { ok: false, reason: 'not a text frame' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof json === 'object' && json !== null && 'v' in json && (json as { v: unknown }).v !== AGENT_PROTOCOL_VERSION)
    return { ok: false, reason: `unsupported protocol version ${describeVersion((json as { v: unknown }).v)}` };
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, msg: r.data };
  const issue = r.error.issues[0]!;
  return { ok: false, reason: `${issue.path.join('.') || '<frame>'}: ${issue.message}` };
}

/**
 * The peer's `v`, for the refusal: a number or a short string as such, anything else by its type. Never echoed whole:
 * JSON.stringify of a deeply nested value throws RangeError (stack), and a long one would flood the log.
 */
function describeVersion(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 20));
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * What is wrong with a watched mount, judged from the agent's own observations (consistency across nodes is
 * judged by the dispatcher); null when it is healthy. A mount that has not been probed since it (re)appeared is
 * not healthy yet: a node is restored only on positive evidence.
 */
export function mountProblem(m: MountReport): string | null {
  if (!m.present) return `${m.path} is not mounted`;
  if (m.expectedFstype !== null && m.fstype !== m.expectedFstype) return `${m.path} has filesystem type ${m.fstype}, expected ${m.expectedFstype}`;
  if (m.expectedSource !== null && m.source !== m.expectedSource) return `${m.path} is mounted from ${m.source}, expected ${m.expectedSource}`;
  if (m.readOnly) return `${m.path} is mounted read-only`;
  if (m.responsive === null) return `${m.path} not probed yet`;
  if (m.responsive === false) return `${m.path} does not respond${m.error ? ` (${m.error})` : ''}`;
  if (m.writable === false) return `${m.path} is not writable${m.error ? ` (${m.error})` : ''}`;
  if (m.sentinelConfigured && m.responsive === true && m.sentinel === null) return `${m.path}: sentinel unreadable${m.error ? ` (${m.error})` : ''}`;
  return null;
}
