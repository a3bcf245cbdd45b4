/**
 * The dispatcher's `agents:` config section (DESIGN.md section 8):
 *   agents: { listen: 0.0.0.0:9182, key_file: /etc/vsd/agent.key, silent_after: 3 }
 * plus `max_bad_frames`, `sentinels` (pinned sentinel hashes per consistency group), `agent_keys` /
 * `require_agent_key` (a key per agent name, so the shared key cannot speak for a listed agent, optionally with the
 * real servers that name may speak for), `unbound_claims`, and the limits `forget_after`, `max_agents`,
 * `max_preauth`.
 */
import { z } from 'zod';
import { canonicalAddress } from '../model/address.js';
import { strictObject } from '../model/strict.js';

export const DEFAULT_AGENTS_LISTEN = '0.0.0.0:9182';
export const DEFAULT_SILENT_AFTER = 3;
export const DEFAULT_MAX_BAD_FRAMES = 5;
/** Seconds a silent (hence drained) agent is remembered before its record and overlay entries are dropped. */
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
export type AgentKeyConfig = string | z.infer<typeof boundAgentKey>;

/**
 * `agent_keys` value: a key file, or a key file and the real servers that name may speak for. Not a z.union: its
 * "Invalid input" would hide which key of the object form is wrong (a misspelt `real_server` gets its hint this way).
 */
const agentKey = z.unknown().transform((v, ctx): AgentKeyConfig => {
  if (typeof v === 'string' && v.length > 0) return v;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a key file path, or { key_file, real_servers }' });
    return z.NEVER;
  }
  const r = boundAgentKey.safeParse(v);
  if (r.success) return r.data;
  // strictObject reports a misspelt key first: "real_servers: Required" would not say why.
  for (const issue of r.error.issues) ctx.addIssue(issue);
  return z.NEVER;
});

export function agentKeyFile(entry: AgentKeyConfig): string {
  return typeof entry === 'string' ? entry : entry.key_file;
}

/** Name -> the real servers it may speak for, for the names whose agent_keys entry lists them. */
export function agentBindings(keys: Readonly<Record<string, AgentKeyConfig>>): Map<string, ClaimEntry[]> {
  const out = new Map<string, ClaimEntry[]>();
  for (const [name, entry] of Object.entries(keys))
    if (typeof entry !== 'string') out.set(name, entry.real_servers.map((t) => parseClaimEntry(t)!));
  return out;
}

const listen = z.string().refine((s) => parseListen(s) !== null, 'expected HOST:PORT (IPv6 as [ADDR]:PORT)');

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
});
export type AgentsConfig = z.infer<typeof agentsConfigSchema>;
