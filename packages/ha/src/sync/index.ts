export { createPeerSync, type PeerSync, type PeerSyncOptions, type PeerSyncStatus, type PeerRole } from './replicator.js';
export { stateDigest } from './digest.js';
export { PEER_PROTOCOL_VERSION, peerMessageSchema, type PeerMessage } from './protocol.js';
export { peerConfigSchema, splitHostPort, type PeerConfig } from './config.js';
export { mergeDivergent, type DivergenceEntry, type MergeOutcome } from './merge.js';
