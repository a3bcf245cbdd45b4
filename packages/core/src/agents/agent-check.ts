/** HAProxy's agent-check text protocol is declared in @vsd/protocol (agent/agent-check.ts); re-exported here. */
export * from '@vsd/protocol/agent';
