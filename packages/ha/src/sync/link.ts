/**
 * The authenticated peer link: both dispatchers listen and dial each other (with backoff), authenticate mutually with
 * the pre-shared key (never sent), and keep exactly one link: when both dials succeed, the one initiated by the
 * smaller node id survives, decided the same way on both sides.
 */
import { newNonce, proof, verifyProof, type Logger } from '@vsd/core';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { AUTH_CONTEXT, decode, encode, type PeerMessage, type PeerMessageBody } from './protocol.js';

export interface PeerLink {
  readonly peerId: string;
  readonly initiator: string;
  send(msg: PeerMessageBody): void;
  close(code?: number, reason?: string): void;
}

export interface LinkEvents {
  up(link: PeerLink): void;
  message(link: PeerLink, msg: PeerMessage): void;
  down(link: PeerLink, reason: string): void;
}

export interface LinkManagerOptions {
  id: string;
  key: Buffer;
  listen?: { host: string; port: number };
  /** ws://HOST:PORT of the peer. */
  peerUrl?: string;
  logger: Logger;
  /** Bad frames tolerated on one link before it is closed. */
  maxBadFrames?: number;
  authTimeoutMs?: number;
}

export interface LinkStats {
  badFrames: number;
  authFailures: number;
  connects: number;
  lastError: string | null;
}

const PING_MS = 1000;

type HandshakeStep = (msg: PeerMessage) => HandshakeStep | 'done' | 'failed';

export class LinkManager {
  private server: WebSocketServer | null = null;
  private current: { link: PeerLink; ws: WebSocket } | null = null;
  private dialTimer: NodeJS.Timeout | null = null;
  private backoff = 100;
  private stopped = false;
  readonly stats: LinkStats = { badFrames: 0, authFailures: 0, connects: 0, lastError: null };

  constructor(
    private readonly opts: LinkManagerOptions,
    private readonly events: LinkEvents,
  ) {}

  get link(): PeerLink | null {
    return this.current?.link ?? null;
  }

  /** Resolves with the bound port once listening (0 when not listening). */
  async start(): Promise<number> {
    let port = 0;
    if (this.opts.listen) {
      const server = new WebSocketServer({ host: this.opts.listen.host, port: this.opts.listen.port, maxPayload: 64 * 1024 * 1024 });
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('listening', resolve);
        server.once('error', reject);
      });
      port = (server.address() as { port: number }).port;
      server.on('connection', (ws, req) => this.respond(ws, req.socket.remoteAddress ?? '?'));
    }
    if (this.opts.peerUrl) this.dial();
    return port;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.dialTimer) clearTimeout(this.dialTimer);
    this.current?.ws.close(1001, 'shutting down');
    this.current = null;
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    for (const c of this.server?.clients ?? []) c.terminate();
  }

  private dial(): void {
    if (this.stopped || !this.opts.peerUrl) return;
    const url = this.opts.peerUrl;
    const ws = new WebSocket(url, { handshakeTimeout: 2000, maxPayload: 64 * 1024 * 1024 });
    let settled = false;
    const retry = (why: string): void => {
      if (settled) return;
      settled = true;
      this.stats.lastError = `dial ${url}: ${why}`;
      if (this.stopped) return;
      const delay = this.backoff * (0.75 + Math.random() / 2);
      this.backoff = Math.min(this.backoff * 2, 5000);
      this.dialTimer = setTimeout(() => this.dial(), delay);
    };
    ws.on('error', (err) => retry(err.message));
    ws.on('close', () => retry('closed'));
    const nonce = newNonce();
    this.handshake(ws, url, (fail) => (hello) => {
      if (hello.t !== 'hello') return fail('expected hello');
      const ids = { initiator: this.opts.id, responder: hello.id };
      const nonces = { initiator: nonce, responder: hello.nonce };
      ws.send(encode({ t: 'auth', id: this.opts.id, nonce, proof: proof(this.opts.key, 'initiator', AUTH_CONTEXT, nonces, ids) }));
      return (reply) => {
        if (reply.t !== 'auth-ok' || !verifyProof(proof(this.opts.key, 'responder', AUTH_CONTEXT, nonces, ids), reply.proof))
          return fail('the peer failed to prove the shared key');
        settled = true; // from now on the link's own close handler redials
        this.backoff = 100;
        this.adopt(ws, hello.id, this.opts.id);
        return 'done';
      };
    });
  }

  private respond(ws: WebSocket, from: string): void {
    const nonce = newNonce();
    ws.send(encode({ t: 'hello', id: this.opts.id, nonce }));
    this.handshake(ws, from, (fail) => (auth) => {
      if (auth.t !== 'auth') return fail('expected auth');
      const ids = { initiator: auth.id, responder: this.opts.id };
      const nonces = { initiator: auth.nonce, responder: nonce };
      if (!verifyProof(proof(this.opts.key, 'initiator', AUTH_CONTEXT, nonces, ids), auth.proof)) return fail('wrong key');
      ws.send(encode({ t: 'auth-ok', proof: proof(this.opts.key, 'responder', AUTH_CONTEXT, nonces, ids) }));
      this.adopt(ws, auth.id, auth.id);
      return 'done';
    });
  }

  /** Drive the handshake steps over incoming frames until one says 'done'; any failure is logged and closes the socket. */
  private handshake(ws: WebSocket, from: string, makeFirst: (fail: (why: string) => 'failed') => HandshakeStep): void {
    let step: HandshakeStep | null = null;
    const fail = (why: string): 'failed' => {
      if (!step) return 'failed';
      step = null;
      clearTimeout(timer);
      ws.off('message', onMessage);
      this.stats.authFailures++;
      this.stats.lastError = `authentication with ${from} failed: ${why}`;
      this.opts.logger.warn({ peer: from, reason: why, code: 'VSD_ERR_AUTH' }, 'peer authentication failed');
      ws.close(4401, 'authentication failed');
      return 'failed';
    };
    step = makeFirst(fail);
    const timer = setTimeout(() => fail('handshake timeout'), this.opts.authTimeoutMs ?? 3000);
    const onMessage = (data: RawData): void => {
      if (!step) return;
      const msg = decode(data.toString());
      const next = typeof msg === 'string' ? fail(msg) : step(msg);
      if (next === 'done') {
        step = null;
        clearTimeout(timer);
        ws.off('message', onMessage);
      } else if (next !== 'failed') step = next;
    };
    ws.on('message', onMessage);
    ws.once('close', () => clearTimeout(timer));
  }

  private adopt(ws: WebSocket, peerId: string, initiator: string): void {
    if (this.current) {
      // Two links (both sides dialled): keep the one whose initiator has the smaller id, on both sides alike.
      if (this.current.link.initiator <= initiator) {
        ws.close(4000, 'duplicate link');
        return;
      }
      const old = this.current;
      this.current = null;
      old.ws.close(4000, 'duplicate link');
    }
    let badFrames = 0;
    let alive = true;
    const link: PeerLink = {
      peerId,
      initiator,
      send: (msg) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(encode(msg));
      },
      close: (code, reason) => ws.close(code ?? 1000, reason),
    };
    this.current = { link, ws };
    this.stats.connects++;
    const ping = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, PING_MS);
    ws.on('pong', () => (alive = true));
    ws.on('message', (data) => {
      const msg = decode(data.toString());
      if (typeof msg === 'string') {
        badFrames++;
        this.stats.badFrames++;
        this.opts.logger.warn({ peer: peerId, reason: msg, badFrames }, 'bad frame from peer dropped');
        if (badFrames >= (this.opts.maxBadFrames ?? 5)) ws.close(4400, 'too many bad frames');
        return;
      }
      this.events.message(link, msg);
    });
    ws.once('close', (code, reason) => {
      clearInterval(ping);
      if (this.current?.link === link) {
        this.current = null;
        this.events.down(link, `${code} ${reason.toString()}`);
        if (initiator === this.opts.id && !this.stopped) this.dial();
      }
    });
    this.events.up(link);
  }
}
