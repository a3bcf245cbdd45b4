/**
 * The dispatcher's `agents:` config section (DESIGN.md section 8):
 *   agents: { listen: 0.0.0.0:9182, key_file: /etc/vsd/agent.key, silent_after: 3 }
 * plus `max_bad_frames`, `sentinels` (pinned sentinel hashes per consistency group), `agent_keys` /
 * `require_agent_key` (a key per agent name, so the shared key cannot speak for a listed agent, optionally with the
 * real servers that name may speak for), `unbound_claims`, and the limits `forget_after`, `max_agents`,
 * `max_preauth`. Parsed once at the boundary into {@link AgentsConfig}: camelCase options, `forget_after` in
 * milliseconds, every `agent_keys` entry in one form with its real servers parsed, frozen, so the hub and the
 * daemon never convert units or look at the file's spelling.
 */
import { z } from 'zod';
import { canonicalAddress } from '../model/address.js';
import { deepFreeze, secondsToMs } from '../model/freeze.js';
import { strictObject } from '../model/strict.js';

export const DEFAULT_AGENTS_LISTEN = '0.0.0.0:9182';
export const DEFAULT_SILENT_AFTER = 3;
export const DEFAULT_MAX_BAD_FRAMES = 5;
/** Seconds (the file's unit) a silent (hence drained) agent is remembered before its record and overlay entries are dropped. */
export const DEFAULT_FORGET_AFTER = 600;
export const DEFAULT_MAX_AGENTS = 4096;
/** Connections not yet authenticated (TCP, HTTP upgrade or handshake) at one time. */
export const DEFAULT_MAX_PREAUTH = 64;

import { parseListen } from '@vsd/protocol';
export { parseListen, type ListenAddress } from '@vsd/protocol';

/** One real server an agent may speak for: "ADDR:PORT", "[V6]:PORT", or a bare address (every port). */
export interface ClaimEntry {
  address: string;
  port: number | null;
}

export function parseClaimEntry(text: string): ClaimEntry | null {
  const bare = canonicalAddress(text.trim());
  if (bare !== null) return { address: bare, port: null };
  const at = parseListen(text);
  if (!at || at.port === 0) return null;
  const address = canonicalAddress(at.host);
  return address === null ? null : { address, port: at.port };
}

const claimEntry = z.string().refine((s) => parseClaimEntry(s) !== null, 'expected ADDR:PORT, [V6]:PORT or ADDR');

const boundAgentKey = strictObject({ key_file: z.string().min(1), real_servers: z.array(claimEntry).min(1).max(1024) });

/** One `agent_keys` entry as parsed, whichever form the file had (a path, or `{ key_file, real_servers }`). */
export interface AgentKeyConfig {
  readonly keyFile: string;
  /** The real servers this name alone may speak for; absent = the file gave none (see `unboundClaims`). */
  readonly realServers?: readonly ClaimEntry[];
}

/**
 * `agent_keys` value: a key file, or a key file and the real servers that name may speak for. Not a z.union: its
 * "Invalid input" would hide which key of the object form is wrong (a misspelt `real_server` gets its hint this way).
 */
const agentKey = z.unknown().transform((v, ctx): AgentKeyConfig => {
  if (typeof v === 'string' && v.length > 0) return { keyFile: v };
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a key file path, or { key_file, real_servers }' });
    return z.NEVER;
  }
  const r = boundAgentKey.safeParse(v);
  if (r.success) return { keyFile: r.data.key_file, realServers: r.data.real_servers.map((t) => parseClaimEntry(t)!) };
  // strictObject reports a misspelt key first: "real_servers: Required" would not say why.
  for (const issue of r.error.issues) ctx.addIssue(issue);
  return z.NEVER;
});

/** Name -> the real servers it may speak for, for the names whose agent_keys entry lists them. */
export function agentBindings(keys: Readonly<Record<string, AgentKeyConfig>>): Map<string, readonly ClaimEntry[]> {
  const out = new Map<string, readonly ClaimEntry[]>();
  for (const [name, entry] of Object.entries(keys)) if (entry.realServers) out.set(name, entry.realServers);
  return out;
}

const listen = z.string().refine((s) => parseListen(s) !== null, 'expected HOST:PORT (IPv6 as [ADDR]:PORT)');

/**
 * The `agents:` section as the code uses it: the keys of vsd.yaml in camelCase, `forgetAfterMs` in milliseconds.
 * Plain frozen data: it crosses from the config parser thread as JSON.
 */
export interface AgentsConfig {
  readonly listen: string;
  readonly keyFile: string;
  readonly agentKeys: Readonly<Record<string, AgentKeyConfig>>;
  readonly requireAgentKey: boolean;
  /** UnboundClaims (claims.ts, which imports this module). */
  readonly unboundClaims: 'first' | 'source';
  /** forget_after; 0: never. */
  readonly forgetAfterMs: number;
  readonly maxAgents: number;
  readonly maxPreauth: number;
  /** A count of the agent's own report intervals, not a duration. */
  readonly silentAfter: number;
  readonly maxBadFrames: number;
  readonly sentinels: Readonly<Record<string, string>>;
}

export const agentsConfigSchema = strictObject({
  listen: listen.default(DEFAULT_AGENTS_LISTEN),
  key_file: z.string().min(1),
  /** Agent name -> key file of its own: that agent must hold this key, not the shared one (see AgentHubOptions). */
  agent_keys: z.record(z.string().min(1), agentKey).default({}),
  /** Only agents listed in agent_keys may connect. */
  require_agent_key: z.boolean().default(false),
  /**
   * Agents whose agent_keys entry lists no real_servers: `first` (a real server not bound in agent_keys belongs to
   * the first name that claimed its address and is still remembered), `source` (additionally, only the address the
   * agent's connection comes from counts).
   */
  unbound_claims: z.enum(['first', 'source']).default('first'),
  /** Seconds a silent agent (drained for silence) is remembered; then it is forgotten and health checks alone decide. 0: never. */
  forget_after: z.number().min(0).max(31_536_000).default(DEFAULT_FORGET_AFTER),
  max_agents: z.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_AGENTS),
  max_preauth: z.number().int().min(1).max(100_000).default(DEFAULT_MAX_PREAUTH),
  /** An agent silent for this many of its report intervals has its real servers drained. */
  silent_after: z.number().int().min(1).max(1000).default(DEFAULT_SILENT_AFTER),
  /** Invalid frames tolerated on one connection before it is closed. */
  max_bad_frames: z.number().int().min(1).max(1000).default(DEFAULT_MAX_BAD_FRAMES),
  /** Consistency group -> expected SHA-256 of its sentinel file. Groups not listed are judged by majority. */
  sentinels: z.record(z.string().min(1), z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256')).default({}),
}).transform(
  (c): AgentsConfig =>
    deepFreeze({
      listen: c.listen,
      keyFile: c.key_file,
      agentKeys: c.agent_keys,
      requireAgentKey: c.require_agent_key,
      unboundClaims: c.unbound_claims,
      forgetAfterMs: secondsToMs(c.forget_after),
      maxAgents: c.max_agents,
      maxPreauth: c.max_preauth,
      silentAfter: c.silent_after,
      maxBadFrames: c.max_bad_frames,
      sentinels: c.sentinels,
    }),
);

export type AgentsConfigInput = z.input<typeof agentsConfigSchema>;
