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
  z.object({ ...base, t: z.literal('changes'), since: generation, upTo: generation, keys: z.array(z.string().max(600)).max(1_000_000).nullable() }).strict(),
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

/** A frame as the wire carries it: the document of a snapshot and the operations of a tx not validated yet. */
export type WireMessage = z.infer<typeof peerMessageSchema>;
export type HandshakeMessage = z.infer<typeof handshakeSchema>;

export type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
/** What `encode` takes: a frame without `v`, its document and operations in any form JSON.stringify writes. */
export type WireMessageBody = DistributiveOmit<WireMessage, 'v'>;

/** The frame's JSON text: `v` first, then the fields in the order given (the bytes the previous build sent). */
export function encode(msg: WireMessageBody): string {
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
 * Parse one frame after authentication, as far as the wire format goes: the document of a snapshot and the
 * operations of a tx are left to the receiver's model (@vsd/ha's decode validates them with @vsd/core's schemas).
 * Returns an error text instead of throwing so the link can count bad frames.
 */
export function decodeWire(data: string | Buffer): WireMessage | string {
  const json = parseJson(data);
  if (json === undefined) return 'not JSON';
  const r = peerMessageSchema.safeParse(json);
  return r.success ? r.data : firstIssue(r.error);
}
