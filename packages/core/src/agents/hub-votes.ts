/**
 * The dispatcher's end of the witness vote frames: which admitted agents can vote (they announced `vote/1`), sending
 * vote-request / vote-release to them, and handing their answers and their comings and goings to the witness
 * (@vsd/ha witness/). One HubVotes outlives a hub re-created on reload: the agents component makes it once and gives
 * it to every hub it opens, so the witness keeps its subscription.
 */
import { AGENT_PROTOCOL_VERSION } from './protocol.js';
import { AGENT_FEATURE_VOTE, type Vote } from './vote-protocol.js';

export interface VoteListener {
  /** An answer from `agent` to one of our requests. */
  vote(agent: string, vote: Vote): void;
  /** A voting agent connected (true) or its connection ended (false): every vote it gave through it is void. */
  voter(agent: string, connected: boolean): void;
}

/** What the witness needs of the agent channel. */
export interface VoteChannel {
  /** Agents connected now that can vote. */
  voters(): string[];
  /** Send a vote-request; false when the agent is not connected or cannot vote. */
  request(agent: string, vrid: number, seq: number, leaseMs: number): boolean;
  release(agent: string, vrid: number): void;
  subscribe(listener: VoteListener): () => void;
}

interface VoterConn {
  token: object;
  send(text: string): void;
}

export class HubVotes implements VoteChannel {
  private readonly conns = new Map<string, VoterConn>();
  private readonly listeners = new Set<VoteListener>();

  voters(): string[] {
    return [...this.conns.keys()];
  }

  request(agent: string, vrid: number, seq: number, leaseMs: number): boolean {
    const c = this.conns.get(agent);
    if (!c) return false;
    c.send(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, type: 'vote-request', vrid, seq, leaseMs }));
    return true;
  }

  release(agent: string, vrid: number): void {
    this.conns.get(agent)?.send(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, type: 'vote-release', vrid }));
  }

  subscribe(listener: VoteListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The hub admitted a connection; `token` identifies it (a newer connection of the same agent replaces it). */
  admitted(agent: string, token: object, features: readonly string[] | undefined, send: (text: string) => void): void {
    if (this.conns.has(agent)) this.closed(agent, this.conns.get(agent)!.token);
    if (!features?.includes(AGENT_FEATURE_VOTE)) return;
    this.conns.set(agent, { token, send });
    this.emit((l) => l.voter(agent, true));
  }

  /** The connection ended or is being closed by the hub (call before closing, so no vote outlives it here). */
  closed(agent: string, token: object): void {
    const c = this.conns.get(agent);
    if (!c || c.token !== token) return;
    this.conns.delete(agent);
    this.emit((l) => l.voter(agent, false));
  }

  received(agent: string, token: object, vote: Vote): void {
    if (this.conns.get(agent)?.token !== token) return;
    this.emit((l) => l.vote(agent, vote));
  }

  private emit(fn: (l: VoteListener) => void): void {
    for (const l of this.listeners) fn(l);
  }
}
