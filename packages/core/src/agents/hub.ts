/**
 * The dispatcher side of the agent channel: a WebSocket server that admits agents holding the shared key (or their
 * own), keeps their last report, maps each agent to the real servers whose RIP is one of its addresses where the
 * config lets it speak for them (claims.ts), and expresses its verdict (see verdict.ts) in the weight overlay under
 * the sources 'agent' and 'storage'. It never edits the desired state.
 *
 * Bounded against hostile peers: pre-auth connections (listener.ts), pre-auth frame size, records (`maxAgents`,
 * and a silent agent is forgotten `forgetAfterMs` after it was drained), log lines (log-limit.ts). Work on an
 * idle tick is O(1): a full recompute runs only when a report, a state change or a silence/forget deadline calls for it.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { newNonce } from '../auth/challenge.js';
import { ValidationError } from '../errors.js';
import { silentLogger, type Logger } from '@vsd/sys';
import { canonicalAddress, hostPort } from '../model/address.js';
import { secondsToMs } from '../model/freeze.js';
import { realServerKey, serviceKey } from '../model/keys.js';
import type { DesiredState } from '../model/schema.js';
import type { DestAdjustment, WeightOverlay } from '../weights/overlay.js';
import { ClaimRules, type UnboundClaims } from './claims.js';
import {
  DEFAULT_FORGET_AFTER,
  DEFAULT_MAX_AGENTS,
  DEFAULT_MAX_BAD_FRAMES,
  DEFAULT_MAX_PREAUTH,
  DEFAULT_SILENT_AFTER,
  parseListen,
  type ClaimEntry,
} from './config.js';
import { checkAgentProof, dispatcherProof } from './handshake.js';
import { HubVotes } from './hub-votes.js';
import {
  AGENT_PROTOCOL_VERSION,
  CLOSE_AUTH_FAILED,
  CLOSE_AUTH_TIMEOUT,
  CLOSE_BAD_FRAMES,
  CLOSE_FORGOTTEN,
  CLOSE_REPLACED,
  MAX_FRAME_BYTES,
  MAX_PREAUTH_FRAME_BYTES,
  authSchema,
  helloSchema,
  parseFrame,
  reportSchema,
  type HelloMessage,
} from './protocol.js';
import { voteSchema } from './vote-protocol.js';
import { AgentListener } from './listener.js';
import { LogLimiter } from './log-limit.js';
import { groupReferences, isSilent, judge, worse, type AgentRecordView, type AgentVerdict, type GroupReference } from './verdict.js';
import type { AgentStatus, AgentsStatus, HubCounters } from '@vsd/protocol';
export type { AgentStatus, AgentsStatus, HubCounters };

export const AGENT_SOURCE = 'agent';
/** What an admitted agent may send: reports, and answers to witness vote requests. */
const readyFrameSchema = z.discriminatedUnion('type', [reportSchema, voteSchema]);
export const STORAGE_SOURCE = 'storage';

/** What the hub needs of the desired-state store (StateStore satisfies it). */
export interface DesiredStateSource {
  readonly state: Readonly<DesiredState>;
  subscribe(listener: () => void): () => void;
}

export interface AgentHubOptions {
  /** "HOST:PORT"; port 0 picks a free port (see address()). */
  listen: string;
  /** The shared key: agents without a key of their own in `agentKeys` prove they hold this one. */
  key: Buffer;
  /**
   * Keys of named agents: an agent listed here must prove it holds its own key, so holding the shared key is not
   * enough to speak (and drain real servers) under its name.
   */
  agentKeys?: ReadonlyMap<string, Buffer>;
  /** Refuse agents that have no key of their own in `agentKeys` (the shared key then admits nobody). */
  requireAgentKey?: boolean;
  /** Name -> the real servers it alone may speak for (agents.agent_keys entries with real_servers); see claims.ts. */
  bindings?: ReadonlyMap<string, readonly ClaimEntry[]>;
  unboundClaims?: UnboundClaims;
  /** How long a silent agent is remembered after it was drained for silence, ms; 0: forever (default 600 s). */
  forgetAfterMs?: number;
  /** Records kept at most; at the cap the longest-silent one makes room, else a new name is refused. */
  maxAgents?: number;
  /** Connections not yet authenticated at one time; more are closed at accept. */
  maxPreAuth?: number;
  /** Reports are applied together after this delay, so a burst of reports costs one recompute. */
  recomputeDelayMs?: number;
  /** This dispatcher's name in the handshake (default: hostname). */
  id: string;
  overlay: WeightOverlay;
  store: DesiredStateSource;
  silentAfter?: number;
  maxBadFrames?: number;
  sentinels?: Readonly<Record<string, string>>;
  logger?: Logger;
  authTimeoutMs?: number;
  /** How often silence is checked. */
  sweepMs?: number;
  now?: () => number;
  /** The witness vote channel to feed (one that outlives this hub); default: a new one, see `votes`. */
  votes?: HubVotes;
}

type RsRef = { service: string; server: string };

interface AgentRecord extends AgentRecordView {
  remote: string | null;
  /** Canonical source address of the connection. */
  source: string | null;
  firstSeen: number;
  conn: Conn | null;
  verdict: AgentVerdict | null;
  realServers: RsRef[];
  refusedClaims: RsRef[];
}

interface Conn {
  ws: WebSocket;
  sock: Socket;
  remote: string;
  /** closed: refused or closing; every later frame is ignored unparsed and unlogged. */
  phase: 'hello' | 'auth' | 'ready' | 'closed';
  hello: HelloMessage | null;
  nonce: string;
  bad: number;
  record: AgentRecord | null;
  timer: NodeJS.Timeout | null;
}

type Applied = { svc: string; rs: string; agent: DestAdjustment | null; storage: DestAdjustment | null };

/** Grace for a refused peer to read our refusal and close frame before its socket is destroyed. */
const REFUSE_LINGER_MS = 250;

export class AgentHub {
  private readonly log: Logger;
  /** For lines a remote party can trigger at will. */
  private readonly noisy: LogLimiter;
  private readonly silentAfter: number;
  private readonly maxBadFrames: number;
  private readonly forgetAfterMs: number;
  private readonly maxAgents: number;
  private readonly claims: ClaimRules;
  private readonly now: () => number;
  private readonly records = new Map<string, AgentRecord>();
  private readonly conns = new Set<Conn>();
  /** "svcKey\nrsKey" -> what the hub last put in the overlay. */
  private applied = new Map<string, Applied>();
  private readonly counters: HubCounters = {
    accepted: 0,
    refused: 0,
    badFrames: 0,
    closedForBadFrames: 0,
    claimsRefused: 0,
    forgotten: 0,
    refusedFull: 0,
    refusedBusy: 0,
  };
  private listener: AgentListener | null = null;
  private sweep: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  /** The earliest silence or forget deadline among the records: idle ticks before it do nothing. */
  private nextDue = Number.POSITIVE_INFINITY;
  private unsubscribe: (() => void) | null = null;
  private refs = new Map<string, GroupReference>();
  /** Witness votes of the agents that announced `vote/1` (see hub-votes.ts). */
  readonly votes: HubVotes;

  constructor(private readonly opts: AgentHubOptions) {
    this.votes = opts.votes ?? new HubVotes();
    this.log = (opts.logger ?? silentLogger).child({ component: 'agents' });
    this.now = opts.now ?? Date.now;
    this.noisy = new LogLimiter(this.log, 20, 10_000, this.now);
    this.silentAfter = opts.silentAfter ?? DEFAULT_SILENT_AFTER;
    this.maxBadFrames = opts.maxBadFrames ?? DEFAULT_MAX_BAD_FRAMES;
    this.forgetAfterMs = opts.forgetAfterMs ?? secondsToMs(DEFAULT_FORGET_AFTER);
    this.maxAgents = opts.maxAgents ?? DEFAULT_MAX_AGENTS;
    this.claims = new ClaimRules(opts.bindings ?? new Map(), opts.unboundClaims ?? 'first');
  }

  async start(): Promise<{ host: string; port: number }> {
    const at = parseListen(this.opts.listen);
    if (!at) throw new ValidationError('agents.listen', this.opts.listen, 'expected HOST:PORT (e.g. 0.0.0.0:7443)');
    const listener = new AgentListener({
      host: at.host,
      port: at.port,
      maxPreAuth: this.opts.maxPreAuth ?? DEFAULT_MAX_PREAUTH,
      deadlineMs: (this.opts.authTimeoutMs ?? 5000) + 1000,
      maxPayload: MAX_FRAME_BYTES,
      onConnection: (ws, req) => this.onConnection(ws, req),
      onBusy: (remote) => {
        this.counters.refusedBusy++;
        this.noisy.warn({ remote }, 'agent connection closed at accept: too many unauthenticated connections');
      },
    });
    await listener.start();
    listener.onError((err) => this.log.error({ err }, 'agent listener error'));
    this.listener = listener;
    this.unsubscribe = this.opts.store.subscribe(() => this.recompute());
    this.sweep = setInterval(() => this.tick(), this.opts.sweepMs ?? 200);
    this.sweep.unref();
    const a = this.address()!;
    this.log.info({ listen: hostPort(a.host, a.port) }, 'agent hub listening');
    return a;
  }

  address(): { host: string; port: number } | null {
    return this.listener?.address() ?? null;
  }

  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    if (this.pending) clearTimeout(this.pending);
    this.sweep = this.pending = null;
    this.unsubscribe?.();
    for (const c of this.conns) {
      if (c.timer) clearTimeout(c.timer);
      this.dropVotes(c);
      c.ws.terminate();
    }
    this.conns.clear();
    const listener = this.listener;
    this.listener = null;
    await listener?.stop();
    this.noisy.flush();
    this.opts.overlay.clearSource(AGENT_SOURCE);
    this.opts.overlay.clearSource(STORAGE_SOURCE);
    this.applied.clear();
  }

  status(): AgentsStatus {
    const now = this.now();
    const a = this.address();
    const agents = [...this.records.values()].map((r) => this.agentStatus(r, now));
    agents.sort((x, y) => (x.agent < y.agent ? -1 : x.agent > y.agent ? 1 : 0));
    return {
      listen: a ? hostPort(a.host, a.port) : null,
      silentAfter: this.silentAfter,
      // The status reply says seconds, as the file and vsctl do.
      forgetAfter: this.forgetAfterMs / 1000,
      maxAgents: this.maxAgents,
      preAuth: this.listener?.pendingCount ?? 0,
      counters: { ...this.counters },
      groups: [...this.refs.values()],
      agents,
    };
  }

  private agentStatus(r: AgentRecord, now: number): AgentStatus {
    const v = r.verdict;
    const reasons = [v?.agent, v?.storage].filter((x): x is DestAdjustment => !!x && x.factor < 1).map((x) => x.reason ?? '');
    const drained = !!v && ((v.agent?.factor ?? 1) === 0 || (v.storage?.factor ?? 1) === 0);
    const state = v?.silent ? 'silent' : !r.lastReport ? 'pending' : drained ? 'drained' : 'up';
    return {
      agent: r.agent,
      addresses: [...r.addresses],
      remote: r.remote,
      connected: r.conn !== null,
      interval: r.interval,
      lastReportAt: r.lastReportAt,
      ageMs: r.lastReportAt === null ? null : now - r.lastReportAt,
      state,
      reasons,
      weightPct: r.lastReport?.load.weightPct ?? null,
      storageProblems: v?.storageProblems ?? [],
      realServers: r.realServers,
      refusedClaims: r.refusedClaims,
      bound: this.claims.isBound(r.agent),
      forgetAt: isSilent(r, now, this.silentAfter) && this.forgetAfterMs > 0 ? this.forgetAtOf(r) : null,
      badFrames: r.conn?.bad ?? 0,
      report: r.lastReport,
    };
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = req.socket.remoteAddress ?? '?';
    const conn: Conn = { ws, sock: req.socket, remote, phase: 'hello', hello: null, nonce: newNonce(), bad: 0, record: null, timer: null };
    this.conns.add(conn);
    conn.timer = setTimeout(() => {
      this.noisy.warn({ remote }, 'agent did not authenticate in time');
      this.closeConn(conn, CLOSE_AUTH_TIMEOUT, 'authentication timeout');
    }, this.opts.authTimeoutMs ?? 5000);
    ws.on('message', (data, isBinary) => this.onFrame(conn, isBinary ? null : data));
    ws.on('error', (err) => this.log.debug({ err, remote }, 'agent socket error'));
    ws.on('close', (code) => this.onClose(conn, code));
  }

  private send(conn: Conn, msg: Record<string, unknown>): void {
    conn.ws.send(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, ...msg }));
  }

  private onFrame(conn: Conn, data: unknown): void {
    if (conn.phase === 'closed') return;
    if (conn.phase !== 'ready' && frameBytes(data) > MAX_PREAUTH_FRAME_BYTES)
      return this.refuse(conn, `frame of ${frameBytes(data)} bytes before authentication (limit ${MAX_PREAUTH_FRAME_BYTES})`, CLOSE_BAD_FRAMES);
    if (conn.phase === 'hello') {
      const r = parseFrame(helloSchema, data);
      if (!r.ok) return this.refuse(conn, `bad hello: ${r.reason}`, CLOSE_BAD_FRAMES);
      conn.hello = r.msg;
      const key = this.keyFor(r.msg.agent);
      if (!key) return this.refuse(conn, 'no key of its own for this agent (agents.require_agent_key)', CLOSE_AUTH_FAILED);
      conn.phase = 'auth';
      const proof = dispatcherProof(key, this.params(conn));
      this.send(conn, { type: 'challenge', dispatcher: this.opts.id, nonce: conn.nonce, proof });
      return;
    }
    if (conn.phase === 'auth') {
      const r = parseFrame(authSchema, data);
      if (!r.ok) return this.refuse(conn, `bad auth: ${r.reason}`, CLOSE_BAD_FRAMES);
      if (!checkAgentProof(this.keyFor(conn.hello!.agent)!, this.params(conn), r.msg.proof)) return this.refuse(conn, 'wrong key', CLOSE_AUTH_FAILED);
      return this.admit(conn);
    }
    const r = parseFrame(readyFrameSchema, data);
    if (!r.ok) return this.badFrame(conn, r.reason);
    if (r.msg.type === 'vote') return this.votes.received(conn.hello!.agent, conn, r.msg);
    const rec = conn.record!;
    rec.lastReport = r.msg;
    rec.lastReportAt = this.now();
    this.schedule();
  }

  /** The key an agent of this name must hold, or null when it may not connect at all. */
  private keyFor(agent: string): Buffer | null {
    const own = this.opts.agentKeys?.get(agent);
    if (own) return own;
    return this.opts.requireAgentKey ? null : this.opts.key;
  }

  private params(conn: Conn): { agent: string; dispatcher: string; agentNonce: string; dispatcherNonce: string } {
    return { agent: conn.hello!.agent, dispatcher: this.opts.id, agentNonce: conn.hello!.nonce, dispatcherNonce: conn.nonce };
  }

  private refuse(conn: Conn, reason: string, code: number, errCode?: string): void {
    this.counters.refused++;
    this.noisy.warn({ remote: conn.remote, agent: conn.hello?.agent ?? null, reason }, 'agent refused');
    this.send(conn, { type: 'refused', code: errCode ?? (code === CLOSE_AUTH_FAILED ? 'VSD_ERR_AUTH' : 'VSD_ERR_BAD_MESSAGE'), message: reason });
    this.closeConn(conn, code, reason);
  }

  /**
   * Close without waiting for the peer: nothing it sends afterwards is read (a refused peer streaming junk would
   * otherwise be parsed and logged frame by frame), and the socket is destroyed once our close frame had a moment to leave.
   */
  private closeConn(conn: Conn, code: number, reason: string): void {
    if (conn.phase === 'closed') return;
    this.dropVotes(conn);
    conn.phase = 'closed';
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.ws.close(code, reason.slice(0, 100));
    conn.ws.pause();
    setTimeout(() => conn.ws.terminate(), REFUSE_LINGER_MS).unref();
  }

  private badFrame(conn: Conn, reason: string): void {
    this.counters.badFrames++;
    conn.bad++;
    this.noisy.warn({ agent: conn.record?.agent, remote: conn.remote, reason, count: conn.bad }, 'agent frame dropped');
    if (conn.bad >= this.maxBadFrames) {
      this.counters.closedForBadFrames++;
      this.noisy.warn({ agent: conn.record?.agent, remote: conn.remote }, 'closing agent connection after repeated bad frames');
      this.closeConn(conn, CLOSE_BAD_FRAMES, 'too many bad frames');
    }
  }

  private admit(conn: Conn): void {
    const hello = conn.hello!;
    const prev = this.records.get(hello.agent);
    if (!prev && this.records.size >= this.maxAgents && !this.makeRoom()) {
      this.counters.refusedFull++;
      return this.refuse(conn, `too many agents (agents.max_agents ${this.maxAgents}) and none silent to forget`, CLOSE_AUTH_FAILED, 'VSD_ERR_AGENT_LIMIT');
    }
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.phase = 'ready';
    this.listener?.authenticated(conn.sock);
    if (prev?.conn) this.closeConn(prev.conn, CLOSE_REPLACED, 'replaced by a newer connection');
    const source = canonicalAddress(conn.remote.replace(/^::ffff:(?=\d+\.)/, ''));
    const addresses = [...new Set([...hello.addresses, ...(source ? [source] : [])])];
    const now = this.now();
    const rec: AgentRecord = {
      agent: hello.agent,
      addresses,
      interval: hello.interval,
      since: now,
      firstSeen: prev?.firstSeen ?? now,
      lastReportAt: prev?.lastReportAt ?? null,
      lastReport: prev?.lastReport ?? null,
      remote: conn.remote,
      source,
      conn,
      verdict: prev?.verdict ?? null,
      realServers: [],
      refusedClaims: prev?.refusedClaims ?? [],
    };
    if (prev?.conn) prev.conn.record = null;
    this.records.set(hello.agent, rec);
    conn.record = rec;
    this.counters.accepted++;
    this.send(conn, { type: 'welcome', silentAfter: this.silentAfter });
    this.votes.admitted(hello.agent, conn, hello.features, (text) => conn.ws.send(text));
    this.log.info({ agent: hello.agent, remote: conn.remote, addresses }, 'agent connected');
    // Coalesced like reports: a mass reconnect (dispatcher restart) must not cost one full recompute per agent.
    this.schedule();
  }

  /** At the record cap: forget the agent silent the longest. False when every agent is live. */
  private makeRoom(): boolean {
    const now = this.now();
    let oldest: AgentRecord | null = null;
    for (const r of this.records.values())
      if (isSilent(r, now, this.silentAfter) && (!oldest || silenceStart(r, this.silentAfter) < silenceStart(oldest, this.silentAfter))) oldest = r;
    if (!oldest) return false;
    this.forget(oldest, `record cap (agents.max_agents ${this.maxAgents}) reached`);
    return true;
  }

  private forget(r: AgentRecord, why: string): void {
    this.records.delete(r.agent);
    this.counters.forgotten++;
    if (r.conn) {
      r.conn.record = null;
      this.closeConn(r.conn, CLOSE_FORGOTTEN, 'forgotten after silence');
    }
    this.log.info({ agent: r.agent, why, realServers: r.realServers }, 'agent forgotten: its real servers return to health-check control');
  }

  private onClose(conn: Conn, code: number): void {
    if (conn.timer) clearTimeout(conn.timer);
    this.conns.delete(conn);
    this.dropVotes(conn);
    // The agent checks our proof before sending its own: with another key it hangs up here with CLOSE_AUTH_FAILED.
    if (conn.phase === 'auth' && code === CLOSE_AUTH_FAILED) {
      this.counters.refused++;
      this.noisy.warn({ remote: conn.remote, agent: conn.hello?.agent ?? null, reason: 'wrong key' }, 'agent refused');
    }
    const rec = conn.record;
    if (rec && rec.conn === conn) {
      rec.conn = null;
      this.log.info({ agent: rec.agent }, 'agent disconnected');
    }
  }

  /** A connection's votes end before the hub closes it (or when it closed): none may outlive it on this side. */
  private dropVotes(conn: Conn): void {
    // closed() only acts on the connection that was admitted (its token), so any connection may call it.
    if (conn.hello) this.votes.closed(conn.hello.agent, conn);
  }

  private forgetAtOf(r: AgentRecordView): number {
    return silenceStart(r, this.silentAfter) + this.forgetAfterMs;
  }

  /** Apply reports together: a burst of them costs one recompute. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => this.recompute(), this.opts.recomputeDelayMs ?? 10);
    this.pending.unref();
  }

  /** Idle work is O(1): nothing can change before the next silence or forget deadline. */
  private tick(): void {
    if (this.now() >= this.nextDue) this.recompute();
  }

  /** Forget records past their deadline, re-derive every verdict and push the differences into the overlay. */
  recompute(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = null;
    const now = this.now();
    if (this.forgetAfterMs > 0)
      for (const r of [...this.records.values()])
        if (isSilent(r, now, this.silentAfter) && now >= this.forgetAtOf(r))
          this.forget(r, `silent for forget_after ${this.forgetAfterMs / 1000} s after draining`);
    const records = [...this.records.values()];
    this.refs = groupReferences(records, now, this.silentAfter, this.opts.sentinels ?? {});
    const byAddress = new Map<string, AgentRecord[]>();
    const refused = new Map<AgentRecord, RsRef[]>();
    let nextDue = Number.POSITIVE_INFINITY;
    for (const r of records) {
      // A silent agent's verdict cannot change until it reports: keep it (thousands of stale records, no garbage).
      const v = r.verdict?.silent && isSilent(r, now, this.silentAfter) ? r.verdict : judge(r, now, this.silentAfter, this.refs);
      this.logTransition(r, r.verdict, v);
      r.verdict = v;
      r.realServers = [];
      const due = v.silent ? (this.forgetAfterMs > 0 ? this.forgetAtOf(r) : Number.POSITIVE_INFINITY) : silenceStart(r, this.silentAfter) + 1;
      if (due < nextDue) nextDue = due;
      for (const a of r.addresses) {
        const list = byAddress.get(a);
        if (list) list.push(r);
        else byAddress.set(a, [r]);
      }
    }
    this.nextDue = nextDue;
    const next = new Map<string, Applied>();
    for (const svc of this.opts.store.state.services) {
      const sk = serviceKey(svc);
      for (const rs of svc.realServers) {
        const claimants = byAddress.get(rs.address);
        if (!claimants) continue;
        const rk = realServerKey(rs);
        const ref: RsRef = { service: sk, server: rk };
        const d = this.claims.decide(rs.address, rs.port, claimants);
        for (const o of d.refused) {
          const list = refused.get(o);
          if (list) list.push(ref);
          else refused.set(o, [ref]);
        }
        if (d.speakers.length === 0) continue;
        let agent: DestAdjustment | null = null;
        let storage: DestAdjustment | null = null;
        for (const o of d.speakers) {
          agent = worse(agent, o.verdict!.agent);
          storage = worse(storage, o.verdict!.storage);
          o.realServers.push(ref);
        }
        next.set(`${sk}\n${rk}`, { svc: sk, rs: rk, agent, storage });
      }
    }
    for (const r of records) this.noteRefusedClaims(r, refused.get(r) ?? NO_REFS);
    this.applyOverlay(next);
  }

  /** Count and log each (agent, real server) pair the first time it is refused. */
  private noteRefusedClaims(r: AgentRecord, list: RsRef[]): void {
    if (sameRefs(r.refusedClaims, list)) return;
    const before = new Set(r.refusedClaims.map((c) => `${c.service}\n${c.server}`));
    for (const c of list)
      if (!before.has(`${c.service}\n${c.server}`)) {
        this.counters.claimsRefused++;
        this.noisy.warn(
          { agent: r.agent, service: c.service, server: c.server, bound: this.claims.isBound(r.agent) },
          'agent claim refused: it may not speak for this real server',
        );
      }
    r.refusedClaims = list;
  }

  private applyOverlay(next: Map<string, Applied>): void {
    const overlay = this.opts.overlay;
    for (const [k, old] of this.applied)
      if (!next.has(k)) {
        overlay.set(AGENT_SOURCE, old.svc, old.rs, null);
        overlay.set(STORAGE_SOURCE, old.svc, old.rs, null);
      }
    for (const e of next.values()) {
      overlay.set(AGENT_SOURCE, e.svc, e.rs, e.agent);
      overlay.set(STORAGE_SOURCE, e.svc, e.rs, e.storage);
    }
    this.applied = next;
  }

  private logTransition(r: AgentRecord, before: AgentVerdict | null, after: AgentVerdict): void {
    if (!before?.silent && after.silent) this.log.warn({ agent: r.agent }, 'agent went silent: draining its real servers');
    else if (before?.silent && !after.silent) this.log.info({ agent: r.agent }, 'agent reporting again');
    const was = before?.storage?.reason ?? null;
    const is = after.storage?.reason ?? null;
    if (is !== null && is !== was) this.log.warn({ agent: r.agent, reason: is }, 'storage broken: draining');
    else if (is === null && was !== null && !after.silent) this.log.info({ agent: r.agent }, 'storage healthy again: restoring');
  }
}

const NO_REFS: RsRef[] = [];

function sameRefs(a: readonly RsRef[], b: readonly RsRef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.service !== b[i]!.service || a[i]!.server !== b[i]!.server) return false;
  return true;
}

/** When an agent's silence begins to count (it is silent from then on unless it reports). */
function silenceStart(r: AgentRecordView, silentAfter: number): number {
  return (r.lastReportAt ?? r.since) + silentAfter * r.interval * 1000;
}

function frameBytes(data: unknown): number {
  if (Buffer.isBuffer(data)) return data.length;
  if (Array.isArray(data)) return (data as Buffer[]).reduce((n, b) => n + b.length, 0);
  if (data instanceof ArrayBuffer) return data.byteLength;
  return 0;
}
