/** Documents of the HA pair (VRRP instances, peer sync, split-brain witness) as GET /v1/ha and /v1/sync serve them. */

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

export type TransitionReason =
  | 'startup'
  | 'startup-owner'
  | 'master-down'
  | 'higher-priority'
  | 'resign'
  | 'takeover'
  | 'fault'
  | 'fault-cleared'
  | 'quorum-lost'
  | 'shutdown';

export interface Transition {
  from: VrrpState;
  to: VrrpState;
  reason: TransitionReason;
  /** Clock time (ms) of the transition. */
  at: number;
}

export interface VrrpCounters {
  advertsSent: number;
  advertsReceived: number;
  priorityZeroSent: number;
  priorityZeroReceived: number;
  /** Adverts dropped, by reason (the VRRP codec's DropReason). */
  dropped: Partial<Record<string, number>>;
  transitions: number;
  announcementsSent: number;
  errors: number;
}

export interface VrrpStatus {
  instance: string;
  interface: string;
  vrid: number;
  version: 2 | 3;
  state: VrrpState;
  priority: number;
  basePriority: number;
  advertisedPriority: number;
  advertIntervalCs: number;
  masterAdverIntervalCs: number;
  masterAddress: string | null;
  primaryAddress: string;
  lastTransition: (Transition & { atIso: string }) | null;
  vipsHeld: string[];
  holds: { resign: boolean; takeover: boolean };
  /** Would be MASTER but waits for the witnesses' votes (split-brain guard). */
  contending: boolean;
  /** Failing trackers of this instance (its own reason for FAULT). */
  ownFault: boolean;
  /** Sources outside the instance holding it in FAULT (`sync_group:G1`). */
  externalFaults: string[];
  /** Sync group this instance belongs to, if any. */
  syncGroup?: string;
  counters: VrrpCounters;
}

export type PeerRole = 'master' | 'backup' | 'fault' | null;

export interface RefusedCounts {
  /** Inbound connections closed at once: `maxPending` unauthenticated ones were already open. */
  tooManyPending: number;
  /** Frames above the limit (the handshake's before authentication, `maxFrameBytes` after). */
  oversizeFrames: number;
  /** Connections that did not complete the handshake in time. */
  handshakeTimeouts: number;
}

export interface PeerSyncStatus {
  id: string;
  peer: string | null;
  peerId: string | null;
  connected: boolean;
  inSync: boolean;
  role: PeerRole;
  generation: number;
  peerGeneration: number | null;
  /** Milliseconds from the peer's commit of the last transaction we applied to its application here (same clock in a lab). */
  lastApplyLagMs: number | null;
  lastSyncAt: number | null;
  divergences: number;
  /** Entries in the divergence record now (vsctl sync --divergence). */
  divergenceEntries: number;
  /** Content digest of this side's replicated document, and the last one the peer announced. */
  digest: string;
  peerDigest: string | null;
  /** Peer generations refused as implausible (not a safe integer, above MAX_GENERATION, an absurd jump). */
  refusedGenerations: number;
  /** Peer snapshots refused because they do not win over our document. */
  refusedSnapshots: number;
  badFrames: number;
  authFailures: number;
  /** What the listener refused before authentication, and frames above the limit after it. */
  refused: RefusedCounts;
  /** Unauthenticated connections open now. */
  pendingConnections: number;
  lastError: string | null;
}

/** A transaction a partition heal kept aside (GET /v1/sync/divergence). */
export interface DivergenceEntryDoc {
  id: string;
  /** When the heal kept it aside. */
  recordedAt: number;
  /** The transaction as it was made on this side during the partition. */
  generation: number;
  origin: string;
  at: number;
  /** Its operations (the POST /v1/transactions operation documents). */
  ops: readonly unknown[];
  /** Why it was not re-applied. */
  reason: string;
  /** Each key it changed: our value, and the value on the merged document (the winner's) when it was kept. */
  keys: Array<{ key: string; ours: unknown; theirs: unknown }>;
  /** What a replay applies (our values of its keys); null when only the operations are known. */
  patch: Record<string, unknown> | null;
}

export type VoteView = 'held' | 'refused' | 'none';

export interface WitnessInstanceStatus {
  vrid: number;
  wanted: boolean;
  /** allowed: may be MASTER; contending: reaches its witnesses but does not hold the votes; no-quorum: neither. */
  quorum: 'allowed' | 'contending' | 'no-quorum';
  votesHeld: string[];
  votesNeeded: number;
}

export interface WitnessStatus {
  enabled: true;
  leaseMs: number;
  probeIntervalMs: number;
  agents: Array<{ agent: string; connected: boolean; votes: Array<{ vrid: number; vote: VoteView; remainingMs: number | null }> }>;
  gateways: Array<{ address: string; reached: boolean; lastReplyAgoMs: number | null }>;
  gatewaysNeeded: number;
  instances: WitnessInstanceStatus[];
}

/** GET /v1/ha. */
export interface HaDoc {
  /** The primary instance (the first configured), or the one asked for. */
  vrrp: VrrpStatus | null;
  primary?: string | null;
  instances?: VrrpStatus[];
  syncGroups?: { name: string; instances: string[] }[];
  sync: PeerSyncStatus | null;
  /** The split-brain guard (absent from older daemons). */
  witness?: WitnessStatus | { enabled: false };
}

/** POST /v1/ha/failover, /takeover, /release. */
export interface HaOperationReply {
  operation: string;
  instance: string;
  before?: string;
  status: VrrpStatus;
}
