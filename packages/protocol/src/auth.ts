/**
 * The challenge proofs both authenticated channels (agents, peer sync) use, with a pre-shared key that never crosses
 * the wire: each side sends a fresh random nonce and proves knowledge of the key with HMAC-SHA256 over both nonces,
 * both identities and its role label. A recorded proof is useless later (fresh nonces) and cannot be reflected back
 * (role labels differ). Reading key files stays with the programs (@vsd/core auth/challenge.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_BYTES = 32;

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64');
}

/** The proof one side sends: role is "initiator" or "responder", so proofs cannot be replayed in the other direction. */
export function proof(
  key: Buffer,
  role: 'initiator' | 'responder',
  context: string,
  nonces: { initiator: string; responder: string },
  ids: { initiator: string; responder: string },
): string {
  return createHmac('sha256', key).update([context, role, nonces.initiator, nonces.responder, ids.initiator, ids.responder].join('\n')).digest('base64');
}

export function verifyProof(expected: string, received: unknown): boolean {
  if (typeof received !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}
