/** The witness vote frames are declared in @vsd/protocol (agent/vote.ts); re-exported for the hub. */
export {
  AGENT_FEATURE_VOTE,
  MIN_LEASE_MS,
  MAX_LEASE_MS,
  voteRequestSchema,
  voteReleaseSchema,
  voteSchema,
  isVoteFrame,
  type VoteRequest,
  type VoteRelease,
  type Vote,
} from '@vsd/protocol/agent';
