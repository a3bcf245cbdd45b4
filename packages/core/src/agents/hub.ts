/**
 * The dispatcher side of the agent channel: a WebSocket server that admits agents holding the shared key, keeps
 * their last report, maps each agent to the real servers whose RIP is one of its addresses, and expresses its
 * verdict (see verdict.ts) in the weight overlay under the sources 'agent' and 'storage'. It never edits the
 * desired state.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { newNonce } from '../auth/challenge.js';
import { silentLogger, type Logger } from '../logger.js';
import { canonicalAddress, hostPort } from '../model/address.js';
import { realServerKey, serviceKey } from '../model/keys.js';
import type { DesiredState } from '../model/schema.js';
import type { DestAdjustment, WeightOverlay } from '../weights/overlay.js';
import { DEFAULT_MAX_BAD_FRAMES, DEFAULT_SILENT_AFTER, parseListen } from './config.js';
import { checkAgentProof, dispatcherProof } from './handshake.js';
import {
  AGENT_PROTOCOL_VERSION,
  CLOSE_AUTH_FAILED,
  CLOSE_AUTH_TIMEOUT,
  CLOSE_BAD_FRAMES,
  CLOSE_REPLACED,
  MAX_FRAME_BYTES,
  authSchema,
  helloSchema,
  parseFrame,
  reportSchema,
  type AgentReport,
  type HelloMessage,
} from './protocol.js';
import { groupReferences, judge, worse, type AgentRecordView, type AgentVerdict, type GroupReference } from './verdict.js';

export const AGENT_SOURCE = 'agent';
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
}

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
  badFrames: number;
  report: AgentReport | null;
}

export interface AgentsStatus {
  listen: string | null;
  silentAfter: number;
  counters: { accepted: number; refused: number; badFrames: number; closedForBadFrames: number };
  groups: GroupReference[];
  agents: AgentStatus[];
}

interface AgentRecord extends AgentRecordView {
  remote: string | null;
  conn: Conn | null;
  verdict: AgentVerdict | null;
  realServers: Array<{ service: string; server: string }>;
}

interface Conn {
  ws: WebSocket;
  remote: string;
  phase: 'hello' | 'auth' | 'ready';
  hello: HelloMessage | null;
  nonce: string;
  bad: number;
  record: AgentRecord | null;
  timer: NodeJS.Timeout | null;
}

export class AgentHub {
  private readonly log: Logger;
  private readonly silentAfter: number;
  private readonly maxBadFrames: number;
  private readonly now: () => number;
  private readonly records = new Map<string, AgentRecord>();
  private readonly conns = new Set<Conn>();
  /** "svcKey\nrsKey" -> what the hub last put in the overlay. */
  private applied = new Map<string, { svc: string; rs: string; agent: DestAdjustment | null; storage: DestAdjustment | null }>();
  private readonly counters = { accepted: 0, refused: 0, badFrames: 0, closedForBadFrames: 0 };
  private wss: WebSocketServer | null = null;
  private sweep: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private refs = new Map<string, GroupReference>();

  constructor(private readonly opts: AgentHubOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: 'agents' });
    this.silentAfter = opts.silentAfter ?? DEFAULT_SILENT_AFTER;
    this.maxBadFrames = opts.maxBadFrames ?? DEFAULT_MAX_BAD_FRAMES;
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<{ host: string; port: number }> {
    const at = parseListen(this.opts.listen);
    if (!at) throw new Error(`agents.listen: expected HOST:PORT, got ${this.opts.listen}`);
    const wss = new WebSocketServer({ host: at.host, port: at.port, maxPayload: MAX_FRAME_BYTES });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('error', (err) => this.log.error({ err }, 'agent listener error'));
    wss.on('connection', (ws, req) => this.onConnection(ws, req));
    this.wss = wss;
    this.unsubscribe = this.opts.store.subscribe(() => this.recompute());
    this.sweep = setInterval(() => this.recompute(), this.opts.sweepMs ?? 200);
    this.sweep.unref();
    const a = this.address()!;
    this.log.info({ listen: hostPort(a.host, a.port) }, 'agent hub listening');
    return a;
  }

  address(): { host: string; port: number } | null {
    const a = this.wss?.address() as AddressInfo | undefined;
    return a ? { host: a.address, port: a.port } : null;
  }

  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    this.unsubscribe?.();
    for (const c of this.conns) {
      if (c.timer) clearTimeout(c.timer);
      c.ws.terminate();
    }
    this.conns.clear();
    const wss = this.wss;
    this.wss = null;
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
    this.opts.overlay.clearSource(AGENT_SOURCE);
    this.opts.overlay.clearSource(STORAGE_SOURCE);
    this.applied.clear();
  }

  status(): AgentsStatus {
    const now = this.now();
    const a = this.address();
    const agents = [...this.records.values()].map((r) => this.agentStatus(r, now));
    agents.sort((x, y) => x.agent.localeCompare(y.agent));
    return {
      listen: a ? hostPort(a.host, a.port) : null,
      silentAfter: this.silentAfter,
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
      badFrames: r.conn?.bad ?? 0,
      report: r.lastReport,
    };
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote = req.socket.remoteAddress ?? '?';
    const conn: Conn = { ws, remote, phase: 'hello', hello: null, nonce: newNonce(), bad: 0, record: null, timer: null };
    this.conns.add(conn);
    conn.timer = setTimeout(() => {
      this.log.warn({ remote }, 'agent did not authenticate in time');
      ws.close(CLOSE_AUTH_TIMEOUT, 'authentication timeout');
    }, this.opts.authTimeoutMs ?? 5000);
    ws.on('message', (data, isBinary) => this.onFrame(conn, isBinary ? null : data));
    ws.on('error', (err) => this.log.debug({ err, remote }, 'agent socket error'));
    ws.on('close', (code) => this.onClose(conn, code));
  }

  private send(conn: Conn, msg: Record<string, unknown>): void {
    conn.ws.send(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, ...msg }));
  }

  private onFrame(conn: Conn, data: unknown): void {
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
    const r = parseFrame(reportSchema, data);
    if (!r.ok) return this.badFrame(conn, r.reason);
    const rec = conn.record!;
    rec.lastReport = r.msg;
    rec.lastReportAt = this.now();
    this.recompute();
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

  private refuse(conn: Conn, reason: string, code: number): void {
    this.counters.refused++;
    this.log.warn({ remote: conn.remote, agent: conn.hello?.agent ?? null, reason }, 'agent refused');
    this.send(conn, { type: 'refused', code: code === CLOSE_AUTH_FAILED ? 'VSD_ERR_AUTH' : 'VSD_ERR_BAD_MESSAGE', message: reason });
    conn.ws.close(code, reason.slice(0, 100));
  }

  private badFrame(conn: Conn, reason: string): void {
    this.counters.badFrames++;
    conn.bad++;
    this.log.warn({ agent: conn.record?.agent, remote: conn.remote, reason, count: conn.bad }, 'agent frame dropped');
    if (conn.bad >= this.maxBadFrames) {
      this.counters.closedForBadFrames++;
      this.log.warn({ agent: conn.record?.agent, remote: conn.remote }, 'closing agent connection after repeated bad frames');
      conn.ws.close(CLOSE_BAD_FRAMES, 'too many bad frames');
    }
  }

  private admit(conn: Conn): void {
    const hello = conn.hello!;
    if (conn.timer) clearTimeout(conn.timer);
    conn.timer = null;
    conn.phase = 'ready';
    const prev = this.records.get(hello.agent);
    if (prev?.conn) prev.conn.ws.close(CLOSE_REPLACED, 'replaced by a newer connection');
    const remote = canonicalAddress(conn.remote.replace(/^::ffff:(?=\d+\.)/, ''));
    const addresses = [...new Set([...hello.addresses, ...(remote ? [remote] : [])])];
    const rec: AgentRecord = {
      agent: hello.agent,
      addresses,
      interval: hello.interval,
      since: this.now(),
      lastReportAt: prev?.lastReportAt ?? null,
      lastReport: prev?.lastReport ?? null,
      remote: conn.remote,
      conn,
      verdict: prev?.verdict ?? null,
      realServers: [],
    };
    if (prev?.conn) prev.conn.record = null;
    this.records.set(hello.agent, rec);
    conn.record = rec;
    this.counters.accepted++;
    this.send(conn, { type: 'welcome', silentAfter: this.silentAfter });
    this.log.info({ agent: hello.agent, remote: conn.remote, addresses }, 'agent connected');
    this.recompute();
  }

  private onClose(conn: Conn, code: number): void {
    if (conn.timer) clearTimeout(conn.timer);
    this.conns.delete(conn);
    // The agent checks our proof before sending its own: with another key it hangs up here with CLOSE_AUTH_FAILED.
    if (conn.phase === 'auth' && code === CLOSE_AUTH_FAILED) {
      this.counters.refused++;
      this.log.warn({ remote: conn.remote, agent: conn.hello?.agent ?? null, reason: 'wrong key' }, 'agent refused');
    }
    const rec = conn.record;
    if (rec && rec.conn === conn) {
      rec.conn = null;
      this.log.info({ agent: rec.agent }, 'agent disconnected');
    }
  }

  /** Re-derive every verdict and push the differences into the overlay. */
  recompute(): void {
    const now = this.now();
    const records = [...this.records.values()];
    this.refs = groupReferences(records, now, this.silentAfter, this.opts.sentinels ?? {});
    const byAddress = new Map<string, AgentRecord[]>();
    for (const r of records) {
      const v = judge(r, now, this.silentAfter, this.refs);
      this.logTransition(r, r.verdict, v);
      r.verdict = v;
      r.realServers = [];
      for (const a of r.addresses) byAddress.set(a, [...(byAddress.get(a) ?? []), r]);
    }
    const next = new Map<string, { svc: string; rs: string; agent: DestAdjustment | null; storage: DestAdjustment | null }>();
    for (const svc of this.opts.store.state.services) {
      const sk = serviceKey(svc);
      for (const rs of svc.realServers) {
        const owners = byAddress.get(rs.address);
        if (!owners) continue;
        const rk = realServerKey(rs);
        let agent: DestAdjustment | null = null;
        let storage: DestAdjustment | null = null;
        for (const o of owners) {
          agent = worse(agent, o.verdict!.agent);
          storage = worse(storage, o.verdict!.storage);
          o.realServers.push({ service: sk, server: rk });
        }
        next.set(`${sk}\n${rk}`, { svc: sk, rs: rk, agent, storage });
      }
    }
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
