/**
 * The witness vote frames of the agent protocol (feature `vote/1`). A dispatcher may be VRRP MASTER for a vrid
 * only while it holds leases from a majority of its agent witnesses; each agent grants the lease of a vrid to at
 * most one dispatcher at a time (packages/agent/src/voter.ts), the holder renews it, and another dispatcher gets it
 * only once it expired or was released. See docs/ARCHITECTURE.md, "Split-brain guard".
 *
 * The frames keep the protocol version (1): they are an optional feature an agent announces in hello, so old
 * agents (which refuse unknown frames) are never sent one and old dispatchers never ask.
 */
import { z } from 'zod';

export const AGENT_FEATURE_VOTE = 'vote/1';
/** Bounds an agent accepts for a requested lease, ms. */
export const MIN_LEASE_MS = 20;
export const MAX_LEASE_MS = 60_000;

const v = z.literal(1);
const vrid = z.number().int().min(1).max(255);
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Ask for (or renew) the lease of `vrid` for `leaseMs` from the moment the agent receives this. */
export const voteRequestSchema = z
  .object({ v, type: z.literal('vote-request'), vrid, seq, leaseMs: z.number().int().min(MIN_LEASE_MS).max(MAX_LEASE_MS) })
  .strict();
/** Give the lease back at once (the dispatcher left MASTER, resigned or stops). */
export const voteReleaseSchema = z.object({ v, type: z.literal('vote-release'), vrid }).strict();
/**
 * The answer to one vote-request (same seq): granted = the asker holds the lease now for `leaseMs` after the agent
 * received the request; otherwise another dispatcher holds it for `remainingMs` more.
 */
export const voteSchema = z
  .object({ v, type: z.literal('vote'), vrid, seq, granted: z.boolean(), remainingMs: z.number().int().min(0).max(MAX_LEASE_MS) })
  .strict();

export type VoteRequest = z.infer<typeof voteRequestSchema>;
export type VoteRelease = z.infer<typeof voteReleaseSchema>;
export type Vote = z.infer<typeof voteSchema>;

/** Whether a parsed JSON frame claims to be a vote frame (so the hub routes it to the vote channel). */
export function isVoteFrame(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'vote';
}
