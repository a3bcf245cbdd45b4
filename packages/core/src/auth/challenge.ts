/**
 * Mutual authentication with a pre-shared key that never crosses the wire: each side sends a fresh random nonce and
 * proves knowledge of the key with HMAC-SHA256 over both nonces, both identities and its role label. A recorded proof is
 * useless later (fresh nonces) and cannot be reflected back (role labels differ). Used by the peer channel and agents.
 */
// The proofs and AuthError are part of the wire formats (@vsd/protocol), reading key files is the OS door's (@vsd/sys).
export { AuthError, NONCE_BYTES, newNonce, proof, verifyProof } from '@vsd/protocol';
export { readKeyFile } from '@vsd/sys';
