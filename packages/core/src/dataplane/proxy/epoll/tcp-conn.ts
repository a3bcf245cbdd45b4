/**
 * One proxied TCP connection in the epoll engine: the client's socket, the real server's socket, and bytes moved
 * between them with recv()/send() through one scratch buffer. Same contract as the Node engine's TcpConn
 * (../node/tcp-conn.ts): backpressure (a side whose peer cannot take more is not read) and half-close (a FIN is passed
 * on once what came before it is written); states, counts, the retry and expiry are TrackedTcpConn's (each recv()
 * is one packet, "in" is client -> real server).
 *
 * Sockets are edge-triggered: a side is marked readable when epoll says so and stays readable until recv()
 * answers EAGAIN, so a side paused for backpressure is resumed from the flag, not from a new event.
 */
import {
  EAGAIN,
  EINPROGRESS,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  IPPROTO_TCP,
  MSG_MORE,
  MSG_NOSIGNAL,
  SHUT_WR,
  SO_ERROR,
  SO_LINGER,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  TCP_NODELAY,
  errnoName,
  type Reactor,
} from '@vsd/sys';
import { encodeProxyV2 } from '../proxy-protocol.js';
import type { ProxyService } from '../service.js';
import { TrackedTcpConn } from '../tcp-tracked.js';
import type { Template } from '../template.js';
import type { ProxyContext, ProxyDest } from '../types.js';
import type { EngineShared } from './shared.js';

const WATCH = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
/**
 * The client side starts without EPOLLOUT: a fresh socket is writable at once, and that event (one per connection)
 * would only be dispatched and ignored. EPOLLOUT is added the first time the client cannot take what we send.
 */
const WATCH_IN = EPOLLIN | EPOLLRDHUP | EPOLLET;

class Leg {
  fd = -1;
  readable = false;
  /** epoll reported the peer's FIN (RDHUP/HUP) or an error: recv() has a 0 (or the error) after the data, so keep reading. */
  finSeen = false;
  /**
   * epoll reported an error on this side. Without one, a FIN seen is a clean one: the kernel queues a FIN only after
   * every byte before it, so once a recv() comes back short the stream has ended (the recv() that would return 0 is
   * skipped); after an error the end of the data may be a reset, which must not pass for a FIN.
   */
  errSeen = false;
  /** A FIN was read from this side. */
  eof = false;
  /** Our FIN was sent to this side. */
  shut = false;
  /** Bytes for this side that it could not take yet. */
  pending: Buffer | null = null;
  /** EPOLLOUT is in this side's epoll mask. */
  watchingOut = true;
}

export class EngineTcpConn extends TrackedTcpConn {
  private readonly client = new Leg();
  private readonly server = new Leg();
  private connecting = false;
  /** When the current connect attempt gives up. */
  connectDeadline = 0;
  private finished = false;
  /** Client bytes read by readEarly(), not yet counted. */
  private earlyBytes = 0;

  constructor(
    svc: ProxyService,
    ctx: ProxyContext,
    private readonly shared: EngineShared,
    private readonly reactor: Reactor,
    clientFd: number,
    caddr: string,
    cport: number,
    dest: ProxyDest,
    template: Template | null,
  ) {
    super(svc, ctx, caddr, cport, dest, template, reactor.now);
    shared.liveConns++;
    this.client.fd = clientFd;
    this.client.watchingOut = false;
    try {
      reactor.add(clientFd, WATCH_IN, (ev) => this.onClient(ev));
    } catch (err) {
      reactor.close(clientFd);
      this.client.fd = -1;
      ctx.log.error({ err, service: svc.key }, 'cannot watch an accepted connection');
      this.finish();
      return;
    }
    this.connectServer();
    if (this.connecting) this.readEarly();
  }

  /**
   * Read the client right after the real server's connect() instead of waiting for epoll: most clients (HTTP among
   * them) have sent their first bytes by the time they are accepted, and passing them on at once puts them on the
   * real server's socket while it is still accepting, so it reads the connection and its request in one wake-up
   * rather than two. On loopback and fast LANs connect() has already completed and the send() goes through; otherwise
   * the bytes are owed to the server and flushed when it is connected (or to the one the retry picks). A client
   * that has sent nothing yet costs one recv() that answers EAGAIN.
   */
  private readEarly(): void {
    const { raw, scratch, scratchAddr } = this.shared;
    const n = raw.recv(this.client.fd, scratchAddr, scratch.length, 0);
    if (n === -EAGAIN) return;
    // A client that reset before anything is abandoned, as in onClient(). Its FIN is left to the normal path:
    // recv() keeps answering 0 once the FIN is in.
    if (n < 0) return this.abort();
    this.client.readable = true;
    if (n === 0) return;
    // Counted by established(), against the real server that gets them (a retry may pick another).
    this.earlyBytes = n;
    // A full read may have left more behind; the normal path reads the rest.
    if (n < scratch.length) this.client.readable = false;
    const w = this.dest.proxyProtocol ? -EAGAIN : raw.send(this.server.fd, scratchAddr, n, MSG_NOSIGNAL);
    if (w < n) this.owe(this.server, Buffer.from(scratch.subarray(Math.max(w, 0), n)));
    // The kernel took bytes, so the real server is connected: from here its failures are resets, not a reason to retry.
    if (w > 0) return this.established();
    if (w === -EAGAIN) return;
    // The connect failed already (refused on loopback): the bytes stay owed, to the real server of the retry.
    this.dropServerAttempt();
    this.connectFailed(errnoName(w));
  }

  private connectServer(): void {
    const { raw } = this.shared;
    const sa = this.shared.sockaddr(this.dest.sched);
    const fd = raw.socket(sa.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return this.connectFailed(errnoName(fd));
    raw.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, this.shared.oneAddr, 4);
    const rc = raw.connect(fd, sa.pin.addr, sa.pin.buf.length);
    if (rc < 0 && rc !== -EINPROGRESS) {
      raw.close(fd);
      return this.connectFailed(errnoName(rc));
    }
    this.server.fd = fd;
    this.connecting = true;
    this.connectDeadline = this.reactor.now + this.ctx.connectTimeoutMs;
    this.shared.connecting.add(this);
    this.reactor.add(fd, WATCH, (ev) => this.onServer(ev));
  }

  /** Called by the engine's timer when connectDeadline has passed. */
  connectTimedOut(): void {
    if (!this.connecting) return;
    this.dropServerAttempt();
    this.connectFailed('connect timeout');
  }

  private dropServerAttempt(): void {
    this.connecting = false;
    this.shared.connecting.delete(this);
    if (this.server.fd >= 0) this.reactor.close(this.server.fd);
    this.server.fd = -1;
    this.server.readable = false;
  }

  private connectFailed(reason: string): void {
    if (!this.retryTarget(reason, this.client.fd < 0)) return this.abort();
    this.connectServer();
  }

  private onServer(ev: number): void {
    if (this.connecting) {
      if (ev & (EPOLLERR | EPOLLHUP)) {
        const reason = this.socketError(this.server.fd);
        this.dropServerAttempt();
        return this.connectFailed(reason);
      }
      if (!(ev & EPOLLOUT)) return;
      this.established();
      if (this.finished) return;
    }
    this.onEvents(this.server, this.client, ev);
  }

  private onClient(ev: number): void {
    if (this.connecting || this.server.fd < 0) {
      // Beyond readEarly()'s one read, nothing is read from a client before its real server is connected; a reset
      // client is abandoned.
      if (ev & EPOLLERR) return this.abort();
      if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) this.client.readable = true;
      if (ev & (EPOLLRDHUP | EPOLLHUP)) this.sawFin(this.client, ev);
      return;
    }
    this.onEvents(this.client, this.server, ev);
  }

  private socketError(fd: number): string {
    const b = this.shared.intBuf;
    const len = this.shared.lenBuf;
    len.writeUInt32LE(4, 0);
    const rc = this.reactor.calls.getsockopt(fd, SOL_SOCKET, SO_ERROR, b, len);
    const err = rc < 0 ? -rc : b.readInt32LE(0);
    return err ? errnoName(err) : 'connection closed';
  }

  private established(): void {
    this.connecting = false;
    this.shared.connecting.delete(this);
    this.markEstablished(this.reactor.now);
    if (this.earlyBytes > 0) {
      this.count(true, this.earlyBytes, this.reactor.now);
      this.earlyBytes = 0;
    }
    if (this.dest.proxyProtocol) {
      const header = encodeProxyV2({
        protocol: 'tcp',
        source: { address: this.caddr, port: this.cport },
        destination: { address: this.svc.service.address, port: this.svc.service.port },
      });
      const early = this.server.pending;
      this.server.pending = early ? Buffer.concat([header, early]) : header;
    }
    // The PROXY header and whatever was read early from the client.
    if (!this.flush(this.server)) return;
    // Whatever the client sent while the real server was being connected.
    if (this.client.readable) this.pump(this.client, this.server, true);
  }

  private onEvents(leg: Leg, peer: Leg, ev: number): void {
    if (ev & EPOLLOUT && leg.pending) {
      if (!this.flush(leg)) return;
      // The side that was paused for this one can be read again.
      if (!leg.pending && peer.readable) this.pump(peer, leg, peer === this.client);
      if (this.finished) return;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      leg.readable = true;
      if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) this.sawFin(leg, ev);
      this.pump(leg, peer, leg === this.client);
    }
  }

  private sawFin(leg: Leg, ev: number): void {
    leg.finSeen = true;
    if (ev & EPOLLERR) leg.errSeen = true;
  }

  /** Move what `src` has to `dst` until src is drained, dst is full, or a FIN arrives. */
  private pump(src: Leg, dst: Leg, inbound: boolean): void {
    const { raw, scratch, scratchAddr } = this.shared;
    while (src.readable && !src.eof && !dst.pending) {
      const n = raw.recv(src.fd, scratchAddr, scratch.length, 0);
      if (n === -EAGAIN) {
        src.readable = false;
        break;
      }
      if (n < 0) return this.abort();
      if (n === 0) {
        this.ended(src, dst);
        break;
      }
      this.count(inbound, n, this.reactor.now);
      // These are the last bytes when the FIN is queued behind them: MSG_MORE holds them for the FIN that follows,
      // so both leave in one segment (one packet less for each side's kernel to carry and acknowledge).
      const last = n < scratch.length && src.finSeen && !src.errSeen;
      const w = raw.send(dst.fd, scratchAddr, n, last ? MSG_NOSIGNAL | MSG_MORE : MSG_NOSIGNAL);
      if (w === n) {
        if (last) {
          this.ended(src, dst);
          break;
        }
        // A short read emptied the socket: new data raises a new edge, so the EAGAIN read can be skipped.
        if (n < scratch.length && !src.finSeen) src.readable = false;
        continue;
      }
      if (w < 0 && w !== -EAGAIN) return this.abort();
      this.owe(dst, Buffer.from(scratch.subarray(Math.max(w, 0), n)));
      // flush() passes the FIN on once what is owed is written.
      if (last) this.ended(src, dst);
      break;
    }
    this.closeIfDone();
  }

  /** `src` sent its FIN: pass it on to `dst` now, or (with bytes still owed to dst) once flush() has written them. */
  private ended(src: Leg, dst: Leg): void {
    src.eof = true;
    src.readable = false;
    this.markFinWait(this.reactor.now);
    this.passFin(dst);
  }

  /** Send `dst` our FIN, unless bytes are still owed to it (flush() comes back here) or it has one already. */
  private passFin(dst: Leg): void {
    // When dst has ended too, close() sends the FIN; a shutdown() first would be a wasted syscall.
    if (dst.pending || dst.shut || dst.eof) return;
    dst.shut = true;
    this.shared.raw.shutdown(dst.fd, SHUT_WR);
  }

  /** Keep what `dst` could not take, and make sure epoll says when it can take more. */
  private owe(dst: Leg, data: Buffer): void {
    dst.pending = data;
    if (dst.watchingOut) return;
    dst.watchingOut = true;
    this.reactor.modify(dst.fd, WATCH);
  }

  /** Write what `dst` owes; false if the connection was torn down. */
  private flush(dst: Leg): boolean {
    const p = dst.pending;
    if (!p) return true;
    const w = this.reactor.calls.send(dst.fd, p, p.length, MSG_NOSIGNAL);
    if (w < 0 && w !== -EAGAIN) {
      this.abort();
      return false;
    }
    if (w === p.length) {
      dst.pending = null;
      const src = dst === this.server ? this.client : this.server;
      if (src.eof) this.passFin(dst);
      this.closeIfDone();
      return !this.finished;
    }
    if (w > 0) dst.pending = p.subarray(w);
    return true;
  }

  private closeIfDone(): void {
    const { client, server } = this;
    if (client.eof && server.eof && !client.pending && !server.pending) this.close(false);
  }

  /** Tear down both sides; with `reset`, the peers see a RST rather than a FIN. */
  private close(reset: boolean): void {
    for (const leg of [this.client, this.server]) {
      if (leg.fd < 0) continue;
      if (reset) this.shared.raw.setsockopt(leg.fd, SOL_SOCKET, SO_LINGER, this.shared.lingerZeroAddr, 8);
      this.reactor.close(leg.fd);
      leg.fd = -1;
    }
    this.finish();
  }

  /** An error on either side: reset both, as a proxy that loses one leg must. */
  private abort(): void {
    this.close(true);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.shared.liveConns--;
    this.connecting = false;
    this.shared.connecting.delete(this);
    this.release(this.reactor.now);
  }

  destroy(): void {
    this.close(false);
  }
}
