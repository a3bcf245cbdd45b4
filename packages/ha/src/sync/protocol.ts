/**
 * Peer-sync wire protocol, version 1: JSON text frames over one WebSocket between the two dispatchers.
 *
 *   responder -> initiator  hello    { id, nonce }
 *   initiator -> responder  auth     { id, nonce, proof }        proof = HMAC(key, initiator role, both nonces, both ids)
 *   responder -> initiator  auth-ok  { proof }                   the responder's proof: authentication is mutual
 *   either way              announce { generation, hash }        after auth, and after any doubt
 *   either way              tx       { generation, ops, hash, at } one committed transaction, in order (at = commit time)
 *   either way              snapshot { state, hash, history }    the whole desired state (services, timeouts) with its generation
 *   either way              want     {}                          "I cannot apply your tx: send a snapshot"
 *   either way              persist  { entries }                 persistence templates learnt since the last frame
 */
import { z } from 'zod';

export const PEER_PROTOCOL_VERSION = 1;
export const AUTH_CONTEXT = 'vsd-peer-sync-v1';

const base = { v: z.literal(PEER_PROTOCOL_VERSION) };

export const peerMessageSchema = z.discriminatedUnion('t', [
  z.object({ ...base, t: z.literal('hello'), id: z.string().min(1).max(200), nonce: z.string().min(16).max(200) }).strict(),
  z.object({ ...base, t: z.literal('auth'), id: z.string().min(1).max(200), nonce: z.string().min(16).max(200), proof: z.string().max(200) }).strict(),
  z.object({ ...base, t: z.literal('auth-ok'), proof: z.string().max(200) }).strict(),
  z.object({ ...base, t: z.literal('announce'), generation: z.number().int().min(0), hash: z.string().max(128) }).strict(),
  z.object({ ...base, t: z.literal('tx'), generation: z.number().int().min(1), ops: z.array(z.unknown()), hash: z.string().max(128), at: z.number() }).strict(),
  z
    .object({
      ...base,
      t: z.literal('snapshot'),
      state: z.unknown(),
      hash: z.string().max(128),
      /** Recent [generation, digest] pairs of the sender, so the receiver finds the last point both shared. */
      history: z.array(z.tuple([z.number().int().min(0), z.string().max(128)])).max(5000),
    })
    .strict(),
  z.object({ ...base, t: z.literal('want') }).strict(),
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

export type PeerMessage = z.infer<typeof peerMessageSchema>;

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type PeerMessageBody = DistributiveOmit<PeerMessage, 'v'>;

export function encode(msg: PeerMessageBody): string {
  return JSON.stringify({ v: PEER_PROTOCOL_VERSION, ...msg });
}

/** Parse one frame; returns an error text instead of throwing so the link can count bad frames. */
export function decode(data: unknown): PeerMessage | string {
  if (typeof data !== 'string' && !Buffer.isBuffer(data)) return 'binary frame';
  let json: unknown;
  try {
    json = JSON.parse(data.toString());
  } catch {
    return 'not JSON';
  }
  const r = peerMessageSchema.safeParse(json);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  return `${i.path.join('.') || 'frame'}: ${i.message}`;
}
