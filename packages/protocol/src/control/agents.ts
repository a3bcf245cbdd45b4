/** The agents hub's document (GET /v1/agents). */
import type { AgentReport } from '../agent/frames.js';

export interface AgentStatus {
  agent: string;
  addresses: string[];
  remote: string | null;
  connected: boolean;
  interval: number;
  lastReportAt: number | null;
  ageMs: number | null;
  /** up: serving at weightPct; drained: agent or storage says no new connections; silent; pending: no report yet. */
  state: 'up' | 'drained' | 'silent' | 'pending';
  reasons: string[];
  weightPct: number | null;
  storageProblems: string[];
  realServers: Array<{ service: string; server: string }>;
  /** Real servers at a claimed address that this agent may not speak for (@vsd/core agents/claims.ts). */
  refusedClaims: Array<{ service: string; server: string }>;
  /** The config binds this name to a list of real servers. */
  bound: boolean;
  /** When a silent agent will be forgotten (ms since the epoch), null when it is not silent or never forgotten. */
  forgetAt: number | null;
  badFrames: number;
  report: AgentReport | null;
}

export interface AgentsStatus {
  listen: string | null;
  silentAfter: number;
  forgetAfter: number;
  maxAgents: number;
  /** Connections accepted but not authenticated yet. */
  preAuth: number;
  counters: HubCounters;
  groups: GroupReference[];
  agents: AgentStatus[];
}

export interface HubCounters {
  accepted: number;
  refused: number;
  badFrames: number;
  closedForBadFrames: number;
  /** (agent, real server) pairs refused because the agent may not speak for that real server. */
  claimsRefused: number;
  /** Records dropped: silent past forget_after, or making room at max_agents. */
  forgotten: number;
  /** New names refused at max_agents with nobody silent to make room. */
  refusedFull: number;
  /** Connections closed at accept because max_preauth were pending. */
  refusedBusy: number;
}

export interface GroupReference {
  group: string;
  reference: string | null;
  basis: 'config' | 'majority' | 'undecided';
  hashes: Record<string, string | null>;
}
