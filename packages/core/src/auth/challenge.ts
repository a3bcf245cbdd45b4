/**
 * Mutual authentication with a pre-shared key that never crosses the wire: each side sends a fresh random nonce and
 * proves knowledge of the key with HMAC-SHA256 over both nonces, both identities and its role label. A recorded proof is
 * useless later (fresh nonces) and cannot be reflected back (role labels differ). Used by the peer channel and agents.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VsdError } from '../errors.js';

export const NONCE_BYTES = 32;

export class AuthError extends VsdError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_AUTH', `authentication failed: ${reason}`, { errno: 'EPERM', details: { reason, ...details } });
  }
}

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64');
}

/** The proof one side sends: role is "initiator" or "responder", so proofs cannot be replayed in the other direction. */
export function proof(key: Buffer, role: 'initiator' | 'responder', context: string, nonces: { initiator: string; responder: string }, ids: { initiator: string; responder: string }): string {
  return createHmac('sha256', key)
    .update([context, role, nonces.initiator, nonces.responder, ids.initiator, ids.responder].join('\n'))
    .digest('base64');
}

export function verifyProof(expected: string, received: unknown): boolean {
  if (typeof received !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(received);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Read a key file: its trimmed content; at least 16 bytes so a typo'd empty file is not a valid key. */
export function readKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new AuthError(`cannot read key file ${path}: ${(err as Error).message}`, { path });
  }
  if (Buffer.byteLength(text) < 16) throw new AuthError(`key file ${path} holds fewer than 16 bytes`, { path });
  return Buffer.from(text);
}
