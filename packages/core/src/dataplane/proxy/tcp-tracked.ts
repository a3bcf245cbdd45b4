/**
 * What every proxied TCP connection does for the connection table and the schedulers, whichever engine moves its
 * bytes (Node sockets, the epoll thread): IPVS's states and counts,
 *
 * - SYN_RECV while the real server is being connected: an inactive connection;
 * - ESTABLISHED once both legs are up: active;
 * - FIN_WAIT after either side's FIN: inactive again, expiring after the tcpfin timeout;
 * - the entry leaves the table (and the counts) as soon as both sides are closed: a proxy has no TIME_WAIT entry
 *   to keep, since nothing is left to route;
 *
 * the one retry on another real server (picked by the service's scheduler with the failed one masked), expiry
 * when idle past its state's timeout, and its `-c` entry. Subclasses move the bytes and call these at the right
 * moments.
 */
import { bindConnection, connectionBecameActive, connectionBecameInactive, unbindConnection } from '../../scheduler/index.js';
import type { ConnectionEntry } from '../types.js';
import type { ProxyService } from './service.js';
import type { ProxyContext, ProxyDest, TrackedConn } from './types.js';
import type { Template } from './template.js';

export type TcpState = 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE';

export abstract class TrackedTcpConn implements TrackedConn {
  protected state: TcpState = 'SYN_RECV';
  /** When the connection last moved a byte or changed state (ms). */
  protected last: number;
  protected dest: ProxyDest;
  private retried = false;
  private released = false;

  protected constructor(
    protected readonly svc: ProxyService,
    protected readonly ctx: ProxyContext,
    protected readonly caddr: string,
    protected readonly cport: number,
    dest: ProxyDest,
    protected readonly template: Template | null,
    now: number,
  ) {
    this.last = now;
    this.dest = dest;
    svc.conns.add(this);
    svc.stats.conns++;
    this.bindTo(dest);
  }

  private bindTo(dest: ProxyDest): void {
    this.dest = dest;
    dest.stats.conns++;
    bindConnection(dest.sched, 'inactive');
  }

  /** Both legs are up. */
  protected markEstablished(now: number): void {
    if (this.state !== 'SYN_RECV') return;
    this.state = 'ESTABLISHED';
    this.last = now;
    connectionBecameActive(this.dest.sched);
  }

  /** A FIN from either side. */
  protected markFinWait(now: number): void {
    if (this.state !== 'ESTABLISHED') return;
    this.state = 'FIN_WAIT';
    this.last = now;
    connectionBecameInactive(this.dest.sched);
  }

  /**
   * The current real server refused, reset or timed out: count and log it, and return the real server to try
   * next (already bound, template moved), or null when there is none (retried already, or the client left).
   */
  protected retryTarget(reason: string, clientGone = false): ProxyDest | null {
    this.ctx.counters.connectFailures++;
    const failed = this.dest;
    const next = clientGone || this.retried ? null : this.svc.repick(this.caddr, this.cport, failed);
    this.ctx.log.warn(
      { service: this.svc.key, realServer: failed.key, reason, retryOn: next?.key ?? null, client: `${this.caddr}:${this.cport}` },
      next ? 'real server failed, retrying on another' : 'real server failed, no retry left',
    );
    if (!next) return null;
    unbindConnection(failed.sched, 'inactive');
    this.retried = true;
    this.ctx.counters.retries++;
    if (this.template && this.template.conns === 1) this.svc.moveTemplate(this.template, next);
    this.bindTo(next);
    return next;
  }

  /** Leave the table: counts, template, service. Idempotent; false when it had already left. */
  protected release(now: number): boolean {
    if (this.released) return false;
    this.released = true;
    unbindConnection(this.dest.sched, this.state === 'ESTABLISHED' ? 'active' : 'inactive');
    this.state = 'CLOSE';
    this.template?.detach(now);
    this.svc.conns.delete(this);
    return true;
  }

  /** Bytes moved: client -> real server when `inbound`. One call is one packet. */
  protected count(inbound: boolean, bytes: number, now: number): void {
    const ss = this.svc.stats;
    const ds = this.dest.stats;
    if (inbound) {
      ss.inPkts++;
      ss.inBytes += bytes;
      ds.inPkts++;
      ds.inBytes += bytes;
    } else {
      ss.outPkts++;
      ss.outBytes += bytes;
      ds.outPkts++;
      ds.outBytes += bytes;
    }
    this.last = now;
  }

  /** Idle time allowed in the current state: the tcp and tcpfin timeouts; SYN_RECV is bounded by the connect timeout (twice, with the retry). */
  private timeoutMs(): number {
    const t = this.ctx.timeouts;
    if (this.state === 'ESTABLISHED') return t.tcp * 1000;
    if (this.state === 'FIN_WAIT') return t.tcpfin * 1000;
    return this.ctx.connectTimeoutMs * 2 + 1000;
  }

  sweep(now: number): void {
    if (now - this.last < this.timeoutMs()) return;
    this.ctx.log.debug({ service: this.svc.key, state: this.state }, 'connection expired');
    this.destroy();
  }

  entry(now: number): ConnectionEntry {
    const svc = this.svc.service;
    return {
      protocol: 'TCP',
      expires: Math.max(0, Math.ceil((this.timeoutMs() - (now - this.last)) / 1000)),
      state: this.state,
      client: { address: this.caddr, port: this.cport },
      virtual: { address: svc.address, port: svc.port },
      destination: { address: this.dest.sched.address, port: this.dest.sched.port },
    };
  }

  abstract destroy(): void;
}
