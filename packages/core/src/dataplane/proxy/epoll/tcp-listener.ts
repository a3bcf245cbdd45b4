/**
 * The listening side of a TCP virtual service in the epoll engine: accept4() until the queue is empty, ask the
 * service where each client goes, hand the pair to an EngineTcpConn. A client with nowhere to go is reset, the
 * nearest a proxy has to IPVS's ICMP port unreachable.
 */
import {
  EADDRNOTAVAIL,
  EAGAIN,
  EPOLLET,
  EPOLLIN,
  SO_LINGER,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  attachReuseportProgram,
  decodeSockaddr,
  foldSockaddr,
  errnoName,
  openTcpListener,
  pinned,
  type Reactor,
  type ReactorTimer,
} from '@vsd/sys';
import { SyscallError } from '../../../errors.js';
import { familyOf } from '../../../model/address.js';
import { NoDestinationLog } from '../no-dest-log.js';
import type { ProxyService } from '../service.js';
import type { ProxyContext } from '../types.js';
import type { EngineShared } from './shared.js';
import { EngineTcpConn } from './tcp-conn.js';
import { steeringPrefix, steeringProgram } from './steer.js';

export class EngineTcpListener {
  private fd = -1;
  private readonly noDest: NoDestinationLog;
  /** sockaddr (28 bytes) then its length (4), pinned for accept4. */
  private readonly peer = pinned(32);
  private readonly addr = this.peer.buf.subarray(0, 28);
  private lastAcceptError = -Infinity;
  /** A later accept4() pass after a failure (EMFILE): the edge that woke us is spent, and clients still wait. */
  private retry: ReactorTimer | null = null;
  /** The persistence prefix the group's program steers by ('none' without persistence), once attached. */
  private steering: string | null = null;

  /** `threads`: how many engine threads listen on the service (one SO_REUSEPORT group when more than one). */
  constructor(
    private readonly svc: ProxyService,
    private readonly ctx: ProxyContext,
    private readonly shared: EngineShared,
    private readonly reactor: Reactor,
    private readonly threads = 1,
  ) {
    this.noDest = new NoDestinationLog(ctx, svc.key);
  }

  get isOpen(): boolean {
    return this.fd >= 0;
  }

  /** Bind VIP:port; with `bindFreely`, an address not on the host is bound with IP_FREEBIND. Throws on failure. */
  open(bindFreely: boolean): void {
    if (this.fd >= 0) return;
    const { address, port } = this.svc.service;
    const reusePort = this.threads > 1;
    let fd: number;
    try {
      fd = openTcpListener(address, port, { noDelay: true, reusePort });
    } catch (err) {
      if (!bindFreely || !(err instanceof SyscallError) || err.errnoNumber !== EADDRNOTAVAIL) throw err;
      fd = openTcpListener(address, port, { noDelay: true, freebind: true, reusePort });
      this.ctx.log.info({ service: this.svc.key }, 'VIP not on this host: listening with IP_FREEBIND');
    }
    try {
      this.steering = null;
      this.steerBy(fd);
      this.reactor.add(fd, EPOLLIN | EPOLLET, () => this.acceptAll());
    } catch (err) {
      this.reactor.calls.close(fd);
      throw err;
    }
    this.fd = fd;
  }

  /** After a change of the service: steer clients to threads by its current persistence netmask. */
  steer(): void {
    if (this.fd < 0) return;
    try {
      this.steerBy(this.fd);
    } catch (err) {
      this.ctx.log.error({ err, service: this.svc.key }, 'cannot steer clients to engine threads; persistence may not hold across threads');
    }
  }

  private steerBy(fd: number): void {
    if (this.threads < 2) return;
    const prefix = steeringPrefix(this.svc.service);
    const key = prefix === null ? 'none' : String(prefix);
    if (key === this.steering) return;
    const family = familyOf(this.svc.service.address) === 'inet6' ? 6 : 4;
    attachReuseportProgram(fd, steeringProgram(family, prefix, this.threads));
    this.steering = key;
  }

  private acceptAll(): void {
    for (;;) {
      this.peer.buf.writeUInt32LE(28, 28);
      const fd = this.shared.raw.accept4(this.fd, this.peer.addr, this.peer.addr + 28, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd === -EAGAIN) return;
      if (fd < 0) {
        // EMFILE and friends: the queue keeps the client; try again in 100 ms (not at once, which would spin),
        // or at the next arrival's edge, whichever comes first. Logged once a second.
        if (this.reactor.now - this.lastAcceptError >= 1000) {
          this.lastAcceptError = this.reactor.now;
          this.ctx.log.warn({ service: this.svc.key, reason: errnoName(fd) }, 'accept failed');
        }
        this.retry ??= this.reactor.at(this.reactor.now + 100, () => {
          this.retry = null;
          if (this.fd >= 0) this.acceptAll();
        });
        return;
      }
      this.accept(fd);
    }
  }

  private accept(fd: number): void {
    const svc = this.svc;
    this.shared.accepted++;
    if (svc.retired) {
      this.reactor.calls.close(fd);
      return;
    }
    const { address, port } = decodeSockaddr(this.addr);
    const b = svc.schedule(address, port, this.reactor.now, foldSockaddr(this.addr));
    if (!b) {
      this.noDest.hit();
      this.shared.raw.setsockopt(fd, SOL_SOCKET, SO_LINGER, this.shared.lingerZeroAddr, 8);
      this.reactor.calls.close(fd);
      return;
    }
    new EngineTcpConn(svc, this.ctx, this.shared, this.reactor, fd, address, port, b.dest, b.template);
  }

  /** Stop accepting; connections already accepted are left alone. */
  close(): void {
    if (this.fd < 0) return;
    this.retry?.cancel();
    this.retry = null;
    this.reactor.close(this.fd);
    this.fd = -1;
  }
}
