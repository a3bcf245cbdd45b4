/**
 * UDP virtual services. A flow is (client address, client port): its first datagram is scheduled, later ones
 * follow it until it has been idle for the UDP timeout. Each flow has its own socket toward the real server,
 * so replies find their client; replies from any other source are ignored. Flows count as inactive
 * connections, as IPVS shows UDP. Each datagram is one packet; bytes are payload bytes (without any PROXY
 * header, which is prepended to every datagram toward the real server when enabled).
 *
 * There is no connect to fail on UDP, so no retry on another real server; with no real server available
 * the datagram is dropped (IPVS would answer with ICMP port unreachable).
 *
 * One-packet scheduling (`-o`, ipvsadm --ops): every datagram is scheduled on its own and counts as one connection,
 * and nothing shows in the connection table or the active/inactive counts (IPVS creates an entry per packet and
 * drops it at once). Replies still need a way back: a path per (client, real server) keeps its upstream socket
 * until it has been idle for the UDP timeout, outside the connection table.
 *
 * Flows and paths together are bounded (udp-flows.ts): a full table evicts the oldest never-assured one or
 * refuses the new flow, so spoofed sources cannot take every descriptor of the process.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { bindConnection, unbindConnection } from '../../scheduler/index.js';
import type { ConnectionEntry } from '../types.js';
import { udpIdleMs } from './context.js';
import { enableNonlocalBind } from './freebind.js';
import { NoDestinationLog } from './no-dest-log.js';
import { encodeProxyV2, unmapped } from './proxy-protocol.js';
import type { ProxyService } from './service.js';
import type { Template } from './template.js';
import type { ProxyContext, ProxyDest, TrackedConn } from './types.js';
import type { UdpFlowBudget, UdpFlowHolder } from './udp-flows.js';

/** A flow or a path that has not seen traffic both ways yet: the first to go when the table is full. */
interface Evictable {
  evict(): void;
}

export class UdpListener implements UdpFlowHolder {
  private readonly socket: Socket;
  private readonly flows = new Map<string, UdpFlow>();
  /** One-packet scheduling: (client, real server) -> the socket replies come back on. */
  private readonly paths = new Map<string, UdpUpstream>();
  private pathSweep: NodeJS.Timeout | undefined;
  private readonly noDest: NoDestinationLog;
  /** Never-assured flows and paths, oldest first (a Set iterates in insertion order). */
  private readonly fresh = new Set<Evictable>();
  private open_ = false;

  constructor(
    private readonly svc: ProxyService,
    private readonly ctx: ProxyContext,
    /** The bound on UDP flows, shared by every UDP service of the dataplane. */
    readonly budget: UdpFlowBudget,
  ) {
    this.noDest = new NoDestinationLog(ctx, svc.key);
    this.socket = createSocket({ type: isIPv6(svc.service.address) ? 'udp6' : 'udp4', reuseAddr: false });
    this.socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    this.socket.on('error', (err) => ctx.log.error({ err, service: svc.key }, 'UDP listener error'));
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.svc.service.onePacket) return this.receiveOnePacket(msg, rinfo);
    const key = `${rinfo.address}|${rinfo.port}`;
    let flow = this.flows.get(key);
    if (!flow) {
      if (this.svc.retired || !this.budget.admit(this)) return;
      const caddr = unmapped(rinfo.address);
      const now = Date.now();
      const b = this.svc.schedule(caddr, rinfo.port, now);
      if (!b) return this.noDest.hit();
      flow = new UdpFlow(this.svc, this.ctx, this, key, caddr, rinfo, b.dest, b.template, now);
      this.flows.set(key, flow);
      this.fresh.add(flow);
    }
    flow.forward(msg);
  }

  private receiveOnePacket(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.svc.retired) return;
    // A path may exist for the client whatever the pick; asking first keeps a refused datagram from being scheduled.
    if (!this.budget.admit(this)) return;
    const caddr = unmapped(rinfo.address);
    const now = Date.now();
    const b = this.svc.schedule(caddr, rinfo.port, now);
    if (!b) return this.noDest.hit();
    // The template (with -p) is re-armed by the pick; no connection stays attached to it.
    b.template?.detach(now);
    const key = `${rinfo.address}|${rinfo.port}|${b.dest.key}`;
    let path = this.paths.get(key);
    if (!path) {
      const evictable: Evictable = { evict: () => this.dropPath(key) };
      path = new UdpUpstream(this.svc, this.ctx, this, caddr, rinfo, b.dest, now, () => this.fresh.delete(evictable));
      this.paths.set(key, path);
      this.fresh.add(evictable);
      path.evictable = evictable;
      this.pathSweep ??= setInterval(() => this.sweepPaths(), 1000).unref();
    }
    this.svc.stats.conns++;
    b.dest.stats.conns++;
    path.forward(msg, now);
  }

  private dropPath(key: string): void {
    const p = this.paths.get(key);
    if (!p) return;
    p.close();
    if (p.evictable) this.fresh.delete(p.evictable);
    this.paths.delete(key);
  }

  private sweepPaths(): void {
    const now = Date.now();
    for (const [key, p] of this.paths) if (now - p.last >= udpIdleMs(this.ctx)) this.dropPath(key);
    if (this.paths.size === 0) {
      clearInterval(this.pathSweep);
      this.pathSweep = undefined;
    }
  }

  reply(msg: Buffer, rinfo: RemoteInfo): void {
    this.socket.send(msg, rinfo.port, rinfo.address);
  }

  forget(key: string, flow: UdpFlow): void {
    this.flows.delete(key);
    this.fresh.delete(flow);
  }

  assured(flow: UdpFlow): void {
    this.fresh.delete(flow);
  }

  get service(): string {
    return this.svc.key;
  }

  get held(): number {
    return this.flows.size + this.paths.size;
  }

  get evictable(): number {
    return this.fresh.size;
  }

  evictOldest(): boolean {
    const oldest = this.fresh.values().next();
    if (oldest.done) return false;
    oldest.value.evict();
    return true;
  }

  async open(bindFreely: boolean): Promise<void> {
    const { address, port } = this.svc.service;
    try {
      await this.bind(address, port);
    } catch (err) {
      if (!bindFreely || (err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL' || !enableNonlocalBind(address)) throw err;
      this.ctx.log.info({ service: this.svc.key }, 'VIP not on this host: set ip_nonlocal_bind=1 in this network namespace');
      await this.bind(address, port);
    }
    this.open_ = true;
    this.budget.join(this);
  }

  private bind(address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.socket.once('error', onError);
      this.socket.bind({ address, port, exclusive: true }, () => {
        this.socket.off('error', onError);
        resolve();
      });
    });
  }

  /**
   * Stop taking new flows. The socket stays open while flows live (their replies leave through it);
   * `release` closes it once they are gone.
   */
  async close(): Promise<void> {
    if (this.flows.size === 0) this.release();
  }

  release(): void {
    if (!this.open_) return;
    this.open_ = false;
    this.budget.leave(this);
    for (const key of [...this.paths.keys()]) this.dropPath(key);
    clearInterval(this.pathSweep);
    this.pathSweep = undefined;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  /** Bound and not released: a revived service keeps using it. */
  get isOpen(): boolean {
    return this.open_;
  }

  get flowCount(): number {
    return this.flows.size;
  }
}

/**
 * The real-server side of a client's datagrams: its own socket toward the real server (so replies find their
 * client), the PROXY header if any, and the counting both ways. A flow owns one; so does a one-packet path.
 */
class UdpUpstream {
  private readonly socket: Socket;
  /** When a datagram last went either way (ms). */
  last: number;
  private readonly header: Buffer | null;
  /** A reply came back; the client's next datagram makes the flow assured (conntrack's "seen both ways"). */
  private replied = false;
  private assured = false;
  private closed = false;
  /** Its entry in the listener's never-assured set, for a one-packet path. */
  evictable: Evictable | undefined;

  constructor(
    private readonly svc: ProxyService,
    ctx: ProxyContext,
    private readonly listener: UdpListener,
    caddr: string,
    rinfo: RemoteInfo,
    private readonly dest: ProxyDest,
    now: number,
    private readonly onAssured: () => void,
  ) {
    this.last = now;
    listener.budget.used++;
    const { address, port } = dest.sched;
    this.header = dest.proxyProtocol
      ? encodeProxyV2({ protocol: 'udp', source: { address: caddr, port: rinfo.port }, destination: { address: svc.service.address, port: svc.service.port } })
      : null;
    this.socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
    this.socket.on('message', (msg, from) => {
      if (from.port !== port || unmapped(from.address) !== address) return;
      this.last = Date.now();
      this.replied = true;
      const n = msg.length;
      svc.stats.outPkts++;
      svc.stats.outBytes += n;
      dest.stats.outPkts++;
      dest.stats.outBytes += n;
      listener.reply(msg, rinfo);
    });
    this.socket.on('error', (err) => ctx.log.debug({ err, service: svc.key, realServer: dest.key }, 'UDP upstream error'));
  }

  forward(msg: Buffer, now: number): void {
    this.last = now;
    if (this.replied && !this.assured) {
      this.assured = true;
      this.onAssured();
    }
    const n = msg.length;
    const { svc, dest } = this;
    svc.stats.inPkts++;
    svc.stats.inBytes += n;
    dest.stats.inPkts++;
    dest.stats.inBytes += n;
    const { address, port } = dest.sched;
    this.socket.send(this.header ? [this.header, msg] : msg, port, address);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listener.budget.used--;
    this.socket.close();
  }
}

export class UdpFlow implements TrackedConn, Evictable {
  private readonly upstream: UdpUpstream;
  private closed = false;

  constructor(
    private readonly svc: ProxyService,
    private readonly ctx: ProxyContext,
    private readonly listener: UdpListener,
    private readonly key: string,
    private readonly caddr: string,
    private readonly rinfo: RemoteInfo,
    private readonly dest: ProxyDest,
    private readonly template: Template | null,
    now: number,
  ) {
    svc.conns.add(this);
    svc.stats.conns++;
    dest.stats.conns++;
    bindConnection(dest.sched, 'inactive');
    this.upstream = new UdpUpstream(svc, ctx, listener, caddr, rinfo, dest, now, () => listener.assured(this));
  }

  private get last(): number {
    return this.upstream.last;
  }

  forward(msg: Buffer): void {
    if (this.closed) return;
    this.upstream.forward(msg, Date.now());
  }

  sweep(now: number): void {
    if (now - this.last >= udpIdleMs(this.ctx)) this.destroy();
  }

  evict(): void {
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.upstream.close();
    unbindConnection(this.dest.sched, 'inactive');
    this.template?.detach(Date.now());
    this.svc.conns.delete(this);
    this.listener.forget(this.key, this);
    if (this.svc.retired && this.listener.flowCount === 0) this.listener.release();
  }

  entry(now: number): ConnectionEntry {
    const svc = this.svc.service;
    return {
      protocol: 'UDP',
      expires: Math.max(0, Math.ceil((udpIdleMs(this.ctx) - (now - this.last)) / 1000)),
      state: 'UDP',
      client: { address: this.caddr, port: this.rinfo.port },
      virtual: { address: svc.address, port: svc.port },
      destination: { address: this.dest.sched.address, port: this.dest.sched.port },
    };
  }
}
