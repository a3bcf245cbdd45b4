/**
 * The authenticated peer link: both dispatchers listen and dial each other (with backoff), authenticate mutually with
 * the pre-shared key (never sent), and keep exactly one link: when both dials succeed, the one initiated by the
 * smaller node id survives, decided the same way on both sides.
 *
 * Until a connection has proved the key it costs this side little and can hold nothing: frames are limited to
 * HANDSHAKE_FRAME_LIMIT (a bigger length is refused before a byte of it is kept), the handshake has a deadline, and
 * only `maxPending` unauthenticated connections exist at once (two more are kept for the configured peer's address,
 * so a flood from elsewhere cannot lock the peer out). After authentication frames may reach `maxFrameBytes`; big
 * ones are decoded off the main loop (decoder.ts) with the socket paused meanwhile. What is refused is counted
 * (`LinkStats.refused`) and logged at most once per reason per 10 s.
 */
import { createServer, connect, isIP, type Server, type Socket } from 'node:net';
import { newNonce, proof, verifyProof, type Logger } from '@vsd/core';
import { FrameDecoder, INLINE_DECODE_MAX, type Decoded } from './decoder.js';
import { encodeFrame, FrameReader, FrameTooLargeError, HEARTBEAT } from './frame.js';
import { LimitedLog } from './log-limit.js';
import {
  AUTH_CONTEXT,
  decode,
  decodeHandshake,
  encode,
  HANDSHAKE_FRAME_LIMIT,
  type HandshakeMessage,
  type PeerMessage,
  type PeerMessageBody,
} from './protocol.js';
import type { RefusedCounts } from '@vsd/protocol';
export type { RefusedCounts };

export interface PeerLink {
  readonly peerId: string;
  readonly initiator: string;
  send(msg: PeerMessageBody): void;
  close(reason?: string): void;
}

export interface LinkEvents {
  up(link: PeerLink): void;
  message(link: PeerLink, msg: PeerMessage, decoded: Decoded): void;
  down(link: PeerLink, reason: string): void;
}

export interface LinkManagerOptions {
  id: string;
  key: Buffer;
  listen?: { host: string; port: number };
  /** The peer's listener. */
  peer?: { host: string; port: number };
  logger: Logger;
  /** Bad frames tolerated on one link before it is closed. */
  maxBadFrames?: number;
  /** Deadline for a connection to complete the handshake (connect included when dialling). */
  authTimeoutMs?: number;
  /** Largest frame accepted from an authenticated peer (a snapshot of the whole table must fit). */
  maxFrameBytes?: number;
  /** Unauthenticated inbound connections held at once. */
  maxPending?: number;
  heartbeatMs?: number;
  /** A link that received nothing (heartbeats included) for this long is closed. */
  deadAfterMs?: number;
  /** Frames above this size are decoded in the decode thread; tests set it. */
  inlineDecodeMax?: number;
  decodeScript?: string | null;
  /**
   * Nice value of the decode thread (default 19: on a busy host the main thread, VRRP, runs first). Tests that
   * measure the main loop's cost on a loaded host set 0, since at 19 any CPU-bound neighbour starves the thread.
   */
  decodeNice?: number;
}

export interface LinkStats {
  badFrames: number;
  authFailures: number;
  connects: number;
  lastError: string | null;
  refused: RefusedCounts;
  /** Unauthenticated connections open now. */
  pending: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_PENDING = 8;
/** The bytes "GET " as a big-endian length: how a version-1 peer's WebSocket upgrade request starts. */
const V1_UPGRADE_REQUEST = 0x47455420;
/** Extra unauthenticated slots for connections from the configured peer's address. */
const PEER_RESERVED = 2;

type HandshakeStep = (msg: HandshakeMessage) => HandshakeStep | 'done' | 'failed';

class Conn {
  readonly reader = new FrameReader(HANDSHAKE_FRAME_LIMIT);
  authenticated = false;
  closed = false;
  lastRx = Date.now();
  busy = false;
  onHandshakeFrame: (payload: Buffer) => void = () => undefined;
  onFrame: (r: Decoded | string) => void = () => undefined;
  onAuthenticated: () => void = () => undefined;

  constructor(
    readonly socket: Socket,
    readonly from: string,
  ) {}

  send(payload: string | Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(typeof payload === 'string' ? encodeFrame(payload) : payload);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // end() lets a last frame go out; destroy() follows so a peer that never reads cannot keep the socket.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}

export class LinkManager {
  private server: Server | null = null;
  private current: { link: PeerLink; conn: Conn } | null = null;
  private dialTimer: NodeJS.Timeout | null = null;
  private backoff = 100;
  private stopped = false;
  private readonly pending = new Set<Conn>();
  private pendingFromPeer = 0;
  private dialing: Conn | null = null;
  private readonly decoder: FrameDecoder;
  private readonly limited: LimitedLog;
  private readonly maxFrameBytes: number;
  readonly stats: LinkStats = {
    badFrames: 0,
    authFailures: 0,
    connects: 0,
    lastError: null,
    refused: { tooManyPending: 0, oversizeFrames: 0, handshakeTimeouts: 0 },
    pending: 0,
  };

  constructor(
    private readonly opts: LinkManagerOptions,
    private readonly events: LinkEvents,
  ) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.decoder = new FrameDecoder(opts.logger, opts.decodeScript, opts.inlineDecodeMax ?? INLINE_DECODE_MAX, opts.decodeNice);
    this.limited = new LimitedLog(opts.logger);
  }

  get link(): PeerLink | null {
    return this.current?.link ?? null;
  }

  /** Big frames are decoded off the main loop (the decode thread is built). */
  get threadedDecode(): boolean {
    return this.decoder.threaded;
  }

  /** Resolves with the bound port once listening (0 when not listening). */
  async start(): Promise<number> {
    let port = 0;
    if (this.opts.listen) {
      const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.listen!.port, this.opts.listen!.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.opts.logger.error({ err }, 'peer-sync listener error'));
      port = (server.address() as { port: number }).port;
    }
    if (this.opts.peer) this.dial();
    return port;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.dialTimer) clearTimeout(this.dialTimer);
    const cur = this.current;
    this.current = null;
    cur?.conn.socket.destroy();
    for (const c of this.pending) c.socket.destroy();
    this.dialing?.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await this.decoder.close();
  }

  private accept(socket: Socket): void {
    const from = unmapped(socket.remoteAddress ?? '?');
    const fromPeer = this.opts.peer !== undefined && isIP(this.opts.peer.host) !== 0 && unmapped(this.opts.peer.host) === from;
    const full = this.pending.size - this.pendingFromPeer >= (this.opts.maxPending ?? DEFAULT_MAX_PENDING);
    if (this.stopped || (full && !(fromPeer && this.pendingFromPeer < PEER_RESERVED))) {
      this.stats.refused.tooManyPending++;
      this.limited.warn(
        'too-many-pending',
        { peer: from, pending: this.pending.size, refused: this.stats.refused.tooManyPending, code: 'VSD_ERR_PEER_REFUSED' },
        'peer-sync connection refused: too many unauthenticated connections',
      );
      socket.destroy();
      return;
    }
    const conn = new Conn(socket, from);
    this.track(conn, fromPeer);
    const nonce = newNonce();
    conn.send(encode({ t: 'hello', id: this.opts.id, nonce }));
    this.handshake(conn, (fail) => (auth) => {
      if (auth.t !== 'auth') return fail('expected auth');
      const ids = { initiator: auth.id, responder: this.opts.id };
      const nonces = { initiator: auth.nonce, responder: nonce };
      if (!verifyProof(proof(this.opts.key, 'initiator', AUTH_CONTEXT, nonces, ids), auth.proof)) return fail('wrong key');
      conn.send(encode({ t: 'auth-ok', proof: proof(this.opts.key, 'responder', AUTH_CONTEXT, nonces, ids) }));
      this.adopt(conn, auth.id, auth.id);
      return 'done';
    });
  }

  private dial(): void {
    if (this.stopped || !this.opts.peer) return;
    const { host, port } = this.opts.peer;
    const where = `${host}:${port}`;
    const socket = connect({ host, port, noDelay: true });
    const conn = new Conn(socket, where);
    this.dialing = conn;
    let settled = false;
    const retry = (why: string): void => {
      if (settled) return;
      settled = true;
      this.stats.lastError = `dial ${where}: ${why}`;
      if (this.stopped) return;
      const delay = this.backoff * (0.75 + Math.random() / 2);
      this.backoff = Math.min(this.backoff * 2, 5000);
      this.dialTimer = setTimeout(() => this.dial(), delay);
    };
    socket.on('error', (err) => retry(err.message));
    socket.on('close', () => retry('closed'));
    const nonce = newNonce();
    this.handshake(conn, (fail) => (hello) => {
      if (hello.t !== 'hello') return fail('expected hello');
      const ids = { initiator: this.opts.id, responder: hello.id };
      const nonces = { initiator: nonce, responder: hello.nonce };
      conn.send(encode({ t: 'auth', id: this.opts.id, nonce, proof: proof(this.opts.key, 'initiator', AUTH_CONTEXT, nonces, ids) }));
      return (reply) => {
        if (reply.t !== 'auth-ok' || !verifyProof(proof(this.opts.key, 'responder', AUTH_CONTEXT, nonces, ids), reply.proof))
          return fail('the peer failed to prove the shared key');
        settled = true; // from now on the link's own close handler redials
        this.backoff = 100;
        this.adopt(conn, hello.id, this.opts.id);
        return 'done';
      };
    });
  }

  private track(conn: Conn, fromPeer: boolean): void {
    this.pending.add(conn);
    if (fromPeer) this.pendingFromPeer++;
    this.stats.pending = this.pending.size;
    let untracked = false;
    const untrack = (): void => {
      if (untracked) return;
      untracked = true;
      this.pending.delete(conn);
      if (fromPeer) this.pendingFromPeer--;
      this.stats.pending = this.pending.size;
    };
    conn.socket.once('close', untrack);
    conn.onAuthenticated = untrack;
  }

  /** Drive the handshake over incoming frames until a step says 'done'; a failure is counted, logged and closes. */
  private handshake(conn: Conn, makeFirst: (fail: (why: string) => 'failed') => HandshakeStep): void {
    let step: HandshakeStep | null = null;
    const fail = (why: string, timeout = false): 'failed' => {
      if (!step) return 'failed';
      step = null;
      clearTimeout(timer);
      if (timeout) this.stats.refused.handshakeTimeouts++;
      else this.stats.authFailures++;
      this.stats.lastError = `authentication with ${conn.from} failed: ${why}`;
      this.limited.warn(`auth:${timeout ? 'timeout' : 'fail'}`, { peer: conn.from, reason: why, code: 'VSD_ERR_AUTH' }, 'peer authentication failed');
      conn.close();
      conn.socket.destroy();
      return 'failed';
    };
    step = makeFirst(fail);
    const timer = setTimeout(() => fail('handshake timeout', true), this.opts.authTimeoutMs ?? 3000);
    timer.unref();
    conn.onHandshakeFrame = (payload) => {
      if (!step) return;
      const msg = decodeHandshake(payload);
      const next = typeof msg === 'string' ? fail(msg) : step(msg);
      if (next === 'done') {
        step = null;
        clearTimeout(timer);
      } else if (next !== 'failed') step = next;
    };
    conn.socket.on('data', (chunk: Buffer) => {
      conn.lastRx = Date.now();
      conn.reader.push(chunk);
      this.pump(conn);
    });
    conn.socket.on('error', () => undefined);
    conn.socket.once('close', () => {
      clearTimeout(timer);
      conn.closed = true;
    });
  }

  /** Hand out the frames read so far, one at a time, in order; stops while a big one is decoded in the thread. */
  private pump(conn: Conn): void {
    while (!conn.busy && !conn.closed) {
      let payload: Buffer | null;
      try {
        payload = conn.reader.next();
      } catch (err) {
        if (!(err instanceof FrameTooLargeError)) throw err;
        this.stats.refused.oversizeFrames++;
        // "GET " read as a length: a version-1 node (WebSocket) knocking. Say so, it is an upgrade mismatch.
        if (!conn.authenticated && err.size === V1_UPGRADE_REQUEST)
          this.limited.warn(
            'v1-peer',
            { peer: conn.from, code: 'VSD_ERR_PEER_REFUSED' },
            'a peer speaking peer-sync protocol version 1 (WebSocket) was refused: run the same vsd version on both dispatchers',
          );
        this.limited.warn(
          conn.authenticated ? 'oversize' : 'oversize-preauth',
          { peer: conn.from, bytes: err.size, limit: err.limit, authenticated: conn.authenticated, code: 'VSD_ERR_PEER_REFUSED' },
          'peer-sync frame above the limit: connection closed',
        );
        conn.closed = true;
        conn.socket.destroy();
        return;
      }
      if (!payload) return;
      if (!conn.authenticated) {
        if (payload.length) conn.onHandshakeFrame(payload);
        continue;
      }
      if (payload.length === 0) continue; // heartbeat
      if (payload.length <= (this.opts.inlineDecodeMax ?? INLINE_DECODE_MAX)) {
        const msg = decode(payload);
        conn.onFrame(typeof msg === 'string' ? msg : { msg });
        continue;
      }
      conn.busy = true;
      conn.socket.pause();
      void this.decoder.decode(payload).then((r) => {
        conn.busy = false;
        conn.lastRx = Date.now();
        if (conn.closed) return;
        conn.onFrame(r);
        conn.socket.resume();
        this.pump(conn);
      });
    }
  }

  private adopt(conn: Conn, peerId: string, initiator: string): void {
    conn.authenticated = true;
    conn.reader.limit = this.maxFrameBytes;
    conn.onAuthenticated();
    if (this.current) {
      // Two links (both sides dialled): keep the one whose initiator has the smaller id, on both sides alike.
      if (this.current.link.initiator <= initiator) {
        conn.close();
        return;
      }
      const old = this.current;
      this.current = null;
      old.conn.close();
    }
    let badFrames = 0;
    const link: PeerLink = {
      peerId,
      initiator,
      send: (msg) => {
        conn.send(encode(msg));
        // A peer that stopped reading must not make this side queue snapshot after snapshot.
        if (conn.socket.writableLength > 2 * this.maxFrameBytes + (1 << 20)) {
          this.opts.logger.warn({ peer: peerId, queued: conn.socket.writableLength }, 'peer does not read: link closed');
          conn.socket.destroy();
        }
      },
      close: () => conn.close(),
    };
    this.current = { link, conn };
    this.stats.connects++;
    const beat = setInterval(() => {
      // A frame in the decode thread keeps the socket paused: that is not silence.
      if (!conn.busy && Date.now() - conn.lastRx > (this.opts.deadAfterMs ?? 3500)) {
        this.opts.logger.warn({ peer: peerId }, 'peer silent: link closed');
        conn.socket.destroy();
        return;
      }
      if (conn.socket.writableLength === 0) conn.send(HEARTBEAT);
    }, this.opts.heartbeatMs ?? 1000);
    beat.unref();
    conn.onFrame = (r) => {
      if (typeof r === 'string') {
        badFrames++;
        this.stats.badFrames++;
        this.limited.warn('bad-frame', { peer: peerId, reason: r, badFrames, code: 'VSD_ERR_BAD_MESSAGE' }, 'bad frame from peer dropped');
        if (badFrames >= (this.opts.maxBadFrames ?? 5)) conn.close();
        return;
      }
      if (this.current?.link === link) this.events.message(link, r.msg, r);
    };
    conn.socket.once('close', () => {
      clearInterval(beat);
      if (this.current?.link === link) {
        this.current = null;
        this.events.down(link, conn.socket.errored?.message ?? 'closed');
        if (initiator === this.opts.id && !this.stopped) this.dial();
      }
    });
    this.events.up(link);
  }
}

function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
