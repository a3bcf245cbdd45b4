/**
 * Mutual authentication with a pre-shared key that never crosses the wire: each side sends a fresh random nonce and
 * proves knowledge of the key with HMAC-SHA256 over both nonces, both identities and its role label. A recorded proof is
 * useless later (fresh nonces) and cannot be reflected back (role labels differ). Used by the peer channel and agents.
 */
import { readFileSync } from 'node:fs';
import { VsdError } from '../errors.js';

// The proofs are part of the wire formats (@vsd/protocol auth.ts); key files and AuthError stay with the programs.
export { NONCE_BYTES, newNonce, proof, verifyProof } from '@vsd/protocol';

export class AuthError extends VsdError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_AUTH', `authentication failed: ${reason}`, { errno: 'EPERM', details: { reason, ...details } });
  }
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
