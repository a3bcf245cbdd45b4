import { describe, expect, it } from 'vitest';
import { newNonce } from '../../src/auth/challenge.js';
import { agentProof, checkAgentProof, checkDispatcherProof, dispatcherProof } from '../../src/agents/handshake.js';

const key = Buffer.from('0123456789abcdef-shared');
const p = { agent: 'web1', dispatcher: 'lvs1', agentNonce: newNonce(), dispatcherNonce: newNonce() };

describe('agent handshake proofs', () => {
  it('verifies with the same key and parameters', () => {
    expect(checkAgentProof(key, p, agentProof(key, p))).toBe(true);
    expect(checkDispatcherProof(key, p, dispatcherProof(key, p))).toBe(true);
  });

  it('fails with another key, other nonces, another identity, or the other role', () => {
    const other = Buffer.from('0123456789abcdef-wrong!');
    expect(checkAgentProof(key, p, agentProof(other, p))).toBe(false);
    expect(checkAgentProof(key, p, agentProof(key, { ...p, dispatcherNonce: newNonce() }))).toBe(false);
    expect(checkAgentProof(key, p, agentProof(key, { ...p, agent: 'web2' }))).toBe(false);
    // A dispatcher's proof reflected back is not an agent's proof.
    expect(checkAgentProof(key, p, dispatcherProof(key, p))).toBe(false);
    expect(checkAgentProof(key, p, 42)).toBe(false);
  });

  it('never contains the key', () => {
    expect(agentProof(key, p)).not.toContain(key.toString());
  });
});
