/**
 * Peer-sync wire protocol, version 2: length-prefixed JSON frames (frame.ts) over one TCP connection between the two
 * dispatchers. Nothing but the three handshake frames is read before both sides have proved the key, and those are
 * held to a few KiB.
 *
 *   responder -> initiator  hello    { id, nonce }
 *   initiator -> responder  auth     { id, nonce, proof }        proof = HMAC(key, initiator role, both nonces, both ids)
 *   responder -> initiator  auth-ok  { proof }                   the responder's proof: authentication is mutual
 *   either way              announce { generation, hash }        after auth, and after any doubt
 *   either way              tx       { generation, ops, hash, at } one committed transaction, in order (at = commit time)
 *   either way              snapshot { state, hash, history }    the whole desired state (services, timeouts) with its generation
 *   either way              want     {}                          "I cannot apply your tx: send a snapshot"
 *   either way              want-changes { since }               "we diverged after `since`: which keys did you change?"
 *   either way              changes  { since, upTo, keys }       the keys changed after `since` up to `upTo` (null: journal too short)
 *   either way              persist  { entries }                 persistence templates learnt since the last frame
 */
import { z } from 'zod';
import { parseOps, parseState, type DesiredState, type StateOp } from '@vsd/core';

export const PEER_PROTOCOL_VERSION = 2;
export const AUTH_CONTEXT = 'vsd-peer-sync-v2';
/** Handshake frames are a few hundred bytes: anything bigger before authentication is refused unread. */
export const HANDSHAKE_FRAME_LIMIT = 4096;

const base = { v: z.literal(PEER_PROTOCOL_VERSION) };
// Integers only; whether a generation is plausible (safe, not an absurd jump) is the replicator's rule, with its own log.
const generation = z.number().int().min(0);

export const handshakeSchema = z.discriminatedUnion('t', [
  z.object({ ...base, t: z.literal('hello'), id: z.string().min(1).max(200), nonce: z.string().min(16).max(200) }).strict(),
  z.object({ ...base, t: z.literal('auth'), id: z.string().min(1).max(200), nonce: z.string().min(16).max(200), proof: z.string().max(200) }).strict(),
  z.object({ ...base, t: z.literal('auth-ok'), proof: z.string().max(200) }).strict(),
]);

export const peerMessageSchema = z.discriminatedUnion('t', [
  ...handshakeSchema.options,
  z.object({ ...base, t: z.literal('announce'), generation, hash: z.string().max(128) }).strict(),
  z.object({ ...base, t: z.literal('tx'), generation: generation.min(1), ops: z.array(z.unknown()), hash: z.string().max(128), at: z.number() }).strict(),
  z
    .object({
      ...base,
      t: z.literal('snapshot'),
      state: z.unknown(),
      hash: z.string().max(128),
      /** Recent [generation, digest] pairs of the sender, so the receiver finds the last point both shared. */
      history: z.array(z.tuple([generation, z.string().max(128)])).max(5000),
    })
    .strict(),
  z.object({ ...base, t: z.literal('want') }).strict(),
  z.object({ ...base, t: z.literal('want-changes'), since: generation }).strict(),
  z
    .object({ ...base, t: z.literal('changes'), since: generation, upTo: generation, keys: z.array(z.string().max(600)).max(1_000_000).nullable() })
    .strict(),
  z
    .object({
      ...base,
      t: z.literal('persist'),
      entries: z
        .array(
          z
            .object({
              service: z.string().max(100),
              client: z.string().max(64),
              dest: z.string().max(64),
              expiresAt: z.number().int().min(0),
            })
            .strict(),
        )
        .max(100_000),
    })
    .strict(),
]);

type WireMessage = z.infer<typeof peerMessageSchema>;
/** A decoded frame: the document and operations inside are validated like the state file and the control API. */
export type PeerMessage =
  | Exclude<WireMessage, { t: 'snapshot' } | { t: 'tx' }>
  | (Omit<Extract<WireMessage, { t: 'snapshot' }>, 'state'> & { state: DesiredState })
  | (Omit<Extract<WireMessage, { t: 'tx' }>, 'ops'> & { ops: StateOp[] });
export type HandshakeMessage = z.infer<typeof handshakeSchema>;

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type PeerMessageBody = DistributiveOmit<PeerMessage, 'v'> | DistributiveOmit<WireMessage, 'v'>;

export function encode(msg: PeerMessageBody): string {
  return JSON.stringify({ v: PEER_PROTOCOL_VERSION, ...msg });
}

function parseJson(data: string | Buffer): unknown {
  try {
    return JSON.parse(data.toString());
  } catch {
    return undefined;
  }
}

function firstIssue(err: z.ZodError): string {
  const i = err.issues[0]!;
  return `${i.path.join('.') || 'frame'}: ${i.message}`;
}

/** Parse one handshake frame; an error text instead of a throw. */
export function decodeHandshake(data: string | Buffer): HandshakeMessage | string {
  const json = parseJson(data);
  if (json === undefined) return 'not JSON';
  const r = handshakeSchema.safeParse(json);
  return r.success ? r.data : firstIssue(r.error);
}

/**
 * Parse one frame after authentication, the document and operations inside included (this is the costly part for a
 * big table, and it runs in the decode thread for big frames). Returns an error text instead of throwing so the link
 * can count bad frames.
 */
export function decode(data: string | Buffer): PeerMessage | string {
  const json = parseJson(data);
  if (json === undefined) return 'not JSON';
  const r = peerMessageSchema.safeParse(json);
  if (!r.success) return firstIssue(r.error);
  const msg = r.data;
  try {
    if (msg.t === 'snapshot') return { ...msg, state: parseState(msg.state, 'peer snapshot') };
    if (msg.t === 'tx') return { ...msg, ops: msg.ops.length ? parseOps(msg.ops) : [] };
  } catch (err) {
    return (err as Error).message;
  }
  return msg as PeerMessage;
}
