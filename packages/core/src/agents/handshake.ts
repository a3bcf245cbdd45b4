/** The agent channel's proofs are declared in @vsd/protocol (agent/handshake.ts); re-exported for the hub. */
export { agentProof, checkAgentProof, checkDispatcherProof, dispatcherProof, type HandshakeParams } from '@vsd/protocol/agent';
