/**
 * The agent's connection to one dispatcher: connect, prove the key (after the dispatcher proved it), stream reports,
 * and on any failure reconnect with exponential backoff (250 ms doubling to 10 s, +-20 % jitter so a fleet of agents
 * does not reconnect in lockstep after a dispatcher restart).
 */
import {
  AGENT_FEATURE_VOTE,
  AGENT_PROTOCOL_VERSION,
  checkDispatcherProof,
  agentProof,
  dispatcherMessageSchema,
  newNonce,
  parseFrame,
  parseListen,
  type AgentReport,
} from '@vsd/protocol';
import type { Logger } from '@vsd/sys';
import { WebSocket } from 'ws';
import type { Voter } from './voter.js';

export type LinkState = 'connecting' | 'authenticating' | 'ready' | 'backoff' | 'stopped';

export interface LinkOptions {
  /** "HOST:PORT" of the dispatcher's agents listener. */
  dispatcher: string;
  key: Buffer;
  agent: string;
  addresses: string[];
  interval: number;
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** The agent's witness votes (feature vote/1); absent: the agent does not vote. */
  voter?: Voter;
}

export interface LinkStatus {
  dispatcher: string;
  state: LinkState;
  /** Name the dispatcher proved itself as. */
  peer: string | null;
  connects: number;
  lastError: string | null;
}

/**
 * Close codes after which the dispatcher can no longer count our votes: 1006 (the socket ended without a close
 * frame: its process is gone), 1000/1001 (normal, going away) and the hub's own 4000-4999 (it drops the votes of a
 * connection before closing it). Not the protocol errors the ws library closes with on its own (1002, 1007, 1009,
 * ...): the hub learns of those only when the close completes, so the lease is left to run out.
 */
function dispatcherDroppedVotes(code: number): boolean {
  return code === 1006 || code === 1000 || code === 1001 || (code >= 4000 && code <= 4999);
}

export class DispatcherLink {
  private ws: WebSocket | null = null;
  private state: LinkState = 'stopped';
  private backoff: number;
  private timer: NodeJS.Timeout | null = null;
  private peer: string | null = null;
  private connects = 0;
  private lastError: string | null = null;
  private readonly log: Logger;
  private readonly url: string;
  /** We are ending the current connection ourselves (so the dispatcher may still hold a lease it counts on). */
  private closingByUs = false;
  /** The dispatcher refused a hello carrying `features` (an older vsd): say hello without them from now on. */
  private legacyHello = false;

  constructor(private readonly opts: LinkOptions) {
    this.backoff = opts.minBackoffMs ?? 250;
    this.log = opts.logger.child({ dispatcher: opts.dispatcher });
    const at = parseListen(opts.dispatcher)!;
    this.url = `ws://${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}/`;
  }

  start(): void {
    if (this.state !== 'stopped') return;
    this.connect();
  }

  stop(): void {
    this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closingByUs = true;
    this.ws?.terminate();
    this.ws = null;
  }

  status(): LinkStatus {
    return { dispatcher: this.opts.dispatcher, state: this.state, peer: this.peer, connects: this.connects, lastError: this.lastError };
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  send(report: AgentReport): void {
    if (this.state === 'ready' && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(report));
  }

  private connect(): void {
    this.state = 'connecting';
    this.closingByUs = false;
    const nonce = newNonce();
    const ws = new WebSocket(this.url, { handshakeTimeout: 5000, maxPayload: 64 * 1024 });
    this.ws = ws;
    ws.on('open', () => {
      this.state = 'authenticating';
      const { agent, addresses, interval } = this.opts;
      const features = this.opts.voter && !this.legacyHello ? { features: [AGENT_FEATURE_VOTE] } : {};
      ws.send(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, type: 'hello', agent, addresses, nonce, interval, software: 'vsd-agent', ...features }));
    });
    ws.on('message', (data, isBinary) => this.onMessage(ws, nonce, isBinary ? null : data));
    ws.on('error', (err) => {
      this.lastError = err.message;
      this.log.debug({ err: err.message }, 'dispatcher connection error');
    });
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onMessage(ws: WebSocket, nonce: string, data: unknown): void {
    const r = parseFrame(dispatcherMessageSchema, data);
    if (!r.ok) {
      this.log.warn({ reason: r.reason }, 'bad frame from dispatcher');
      this.closingByUs = true;
      ws.close(4002, 'bad frame');
      return;
    }
    const m = r.msg;
    if (m.type === 'challenge' && this.state === 'authenticating') {
      const p = { agent: this.opts.agent, dispatcher: m.dispatcher, agentNonce: nonce, dispatcherNonce: m.nonce };
      if (!checkDispatcherProof(this.opts.key, p, m.proof)) {
        this.lastError = 'dispatcher failed to prove the shared key';
        this.log.error({ peer: m.dispatcher }, 'dispatcher failed to prove the shared key: not sending reports');
        this.closingByUs = true;
        ws.close(4001, 'wrong key');
        return;
      }
      this.peer = m.dispatcher;
      ws.send(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, type: 'auth', proof: agentProof(this.opts.key, p) }));
    } else if (m.type === 'welcome' && this.state === 'authenticating' && this.peer) {
      this.state = 'ready';
      this.connects++;
      this.lastError = null;
      this.backoff = this.opts.minBackoffMs ?? 250;
      this.log.info({ peer: this.peer }, 'connected to dispatcher');
    } else if ((m.type === 'vote-request' || m.type === 'vote-release') && this.state === 'ready') {
      this.onVoteFrame(ws, m);
    } else if (m.type === 'refused') {
      if (this.opts.voter && !this.legacyHello && this.state === 'authenticating' && /features/.test(m.message)) {
        this.legacyHello = true;
        this.log.warn({ reason: m.message }, 'dispatcher does not know protocol features (older vsd): connecting without witness votes');
      }
      this.lastError = `${m.code}: ${m.message}`;
      this.log.error({ code: m.code, reason: m.message }, 'dispatcher refused this agent');
    }
  }

  /** Witness votes: answer a request at once (the dispatcher times its lease from sending it), or take a release. */
  private onVoteFrame(ws: WebSocket, m: { type: 'vote-request'; vrid: number; seq: number; leaseMs: number } | { type: 'vote-release'; vrid: number }): void {
    const voter = this.opts.voter;
    if (!voter) return;
    if (m.type === 'vote-release') {
      if (voter.release(this.opts.dispatcher, m.vrid)) this.log.info({ vrid: m.vrid }, 'witness lease released by its holder');
      return;
    }
    const a = voter.request(this.opts.dispatcher, m.vrid, m.leaseMs);
    if (ws.readyState === WebSocket.OPEN)
      ws.send(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, type: 'vote', vrid: m.vrid, seq: m.seq, granted: a.granted, remainingMs: a.remainingMs }));
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = null;
    // The dispatcher's side ended the connection (its process exited, or it closed us after dropping our votes):
    // it holds nothing any more, so its leases go now rather than at expiry — a crashed master's peer gets the
    // votes after one round trip. When we end it ourselves the dispatcher may not know yet: the lease runs out.
    if (this.opts.voter && !this.closingByUs && dispatcherDroppedVotes(code)) {
      const freed = this.opts.voter.releaseAll(this.opts.dispatcher);
      if (freed.length) this.log.info({ vrids: freed, code }, 'dispatcher connection ended: its witness leases released');
    }
    const wasReady = this.state === 'ready';
    if (this.state === 'stopped') return;
    if (wasReady) this.log.warn({ code, reason }, 'lost dispatcher connection');
    this.state = 'backoff';
    const max = this.opts.maxBackoffMs ?? 10_000;
    const delay = Math.round(this.backoff * (0.8 + Math.random() * 0.4));
    this.backoff = Math.min(max, this.backoff * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state === 'backoff') this.connect();
    }, delay);
  }
}
