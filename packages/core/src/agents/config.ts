/**
 * The dispatcher's `agents:` config section (DESIGN.md section 8):
 *   agents: { listen: 0.0.0.0:9182, key_file: /etc/vsd/agent.key, silent_after: 3 }
 * plus `max_bad_frames`, `sentinels` (pinned sentinel hashes per consistency group), and `agent_keys` /
 * `require_agent_key` (a key per agent name, so the shared key cannot speak for a listed agent).
 */
import { z } from 'zod';
import { canonicalAddress } from '../model/address.js';

export const DEFAULT_AGENTS_LISTEN = '0.0.0.0:9182';
export const DEFAULT_SILENT_AFTER = 3;
export const DEFAULT_MAX_BAD_FRAMES = 5;

export interface ListenAddress {
  host: string;
  port: number;
}

/** "HOST:PORT" or "[V6]:PORT" -> { host, port }; null when malformed. */
export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && canonicalAddress(host) === null) return null;
  return { host, port };
}

const listen = z.string().refine((s) => parseListen(s) !== null, 'expected HOST:PORT (IPv6 as [ADDR]:PORT)');

export const agentsConfigSchema = z
  .object({
    listen: listen.default(DEFAULT_AGENTS_LISTEN),
    key_file: z.string().min(1),
    /** Agent name -> key file of its own: that agent must hold this key, not the shared one (see AgentHubOptions). */
    agent_keys: z.record(z.string().min(1), z.string().min(1)).default({}),
    /** Only agents listed in agent_keys may connect. */
    require_agent_key: z.boolean().default(false),
    /** An agent silent for this many of its report intervals has its real servers drained. */
    silent_after: z.number().int().min(1).max(1000).default(DEFAULT_SILENT_AFTER),
    /** Invalid frames tolerated on one connection before it is closed. */
    max_bad_frames: z.number().int().min(1).max(1000).default(DEFAULT_MAX_BAD_FRAMES),
    /** Consistency group -> expected SHA-256 of its sentinel file. Groups not listed are judged by majority. */
    sentinels: z.record(z.string().min(1), z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256')).default({}),
  })
  .strict();
export type AgentsConfig = z.infer<typeof agentsConfigSchema>;
