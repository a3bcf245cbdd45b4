/**
 * The agent channel's use of the shared challenge auth: the agent is the initiator, the dispatcher the responder.
 * The dispatcher proves the key first (over the agent's nonce and its own), then the agent proves it, so neither
 * side streams anything to a party that does not hold the key.
 */
import { proof, verifyProof } from '../auth.js';
import { AGENT_AUTH_CONTEXT } from './frames.js';

export interface HandshakeParams {
  agent: string;
  dispatcher: string;
  agentNonce: string;
  dispatcherNonce: string;
}

function make(key: Buffer, role: 'initiator' | 'responder', p: HandshakeParams): string {
  return proof(key, role, AGENT_AUTH_CONTEXT, { initiator: p.agentNonce, responder: p.dispatcherNonce }, { initiator: p.agent, responder: p.dispatcher });
}

export function dispatcherProof(key: Buffer, p: HandshakeParams): string {
  return make(key, 'responder', p);
}

export function agentProof(key: Buffer, p: HandshakeParams): string {
  return make(key, 'initiator', p);
}

export function checkDispatcherProof(key: Buffer, p: HandshakeParams, received: unknown): boolean {
  return verifyProof(dispatcherProof(key, p), received);
}

export function checkAgentProof(key: Buffer, p: HandshakeParams, received: unknown): boolean {
  return verifyProof(agentProof(key, p), received);
}
