/** The agent wire format is declared in @vsd/protocol (agent/frames.ts); re-exported for the hub and older imports. */
export * from '@vsd/protocol/agent';
