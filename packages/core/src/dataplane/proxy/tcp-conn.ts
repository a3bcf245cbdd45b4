/**
 * One proxied TCP connection: client socket <-> real-server socket, with backpressure (a side that cannot
 * take more pauses the other), half-close (a FIN from one side is passed on and the other direction keeps
 * flowing), one retry on another real server when the first refuses or times out, and IPVS's accounting:
 *
 * - SYN_RECV while the real server is being connected: an inactive connection;
 * - ESTABLISHED once both legs are up: active;
 * - FIN_WAIT after either side's FIN: inactive again, expiring after the tcpfin timeout;
 * - the entry leaves the table (and the counts) as soon as both sockets are closed: a proxy has no
 *   TIME_WAIT entry to keep, since nothing is left to route.
 *
 * Packets: each chunk read from a socket counts as one packet; bytes are the payload bytes read (the PROXY
 * header is not counted). "in" is client -> real server, "out" is real server -> client, as for IPVS/NAT.
 */
import { connect, type Socket } from 'node:net';
import { bindConnection, connectionBecameActive, connectionBecameInactive, unbindConnection } from '../../scheduler/index.js';
import type { ConnectionEntry } from '../types.js';
import type { ProxyContext } from './context.js';
import { pipeBothWays } from './pipe.js';
import { encodeProxyV2 } from './proxy-protocol.js';
import type { ProxyDest, ProxyService, TrackedConn } from './service.js';
import type { Template } from './template.js';

type TcpState = 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'CLOSE';

export class TcpConn implements TrackedConn {
  private state: TcpState = 'SYN_RECV';
  /** The real-server leg once connected; `pending` while connecting. */
  private server: Socket | null = null;
  private pending: Socket | null = null;
  private retried = false;
  private last: number;
  private clientClosed = false;
  private serverClosed = false;
  private finished = false;

  constructor(
    private readonly svc: ProxyService,
    private readonly ctx: ProxyContext,
    private readonly client: Socket,
    private readonly caddr: string,
    private readonly cport: number,
    private dest: ProxyDest,
    private readonly template: Template | null,
    now: number,
  ) {
    this.last = now;
    svc.conns.add(this);
    svc.stats.conns++;
    this.bindTo(dest);
    client.on('error', () => this.server?.resetAndDestroy());
    client.on('close', () => this.clientGone());
    this.connectServer();
  }

  private bindTo(dest: ProxyDest): void {
    this.dest = dest;
    dest.stats.conns++;
    bindConnection(dest.sched, 'inactive');
  }

  private connectServer(): void {
    const { address, port } = this.dest.sched;
    const server = connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    this.pending = server;
    server.setTimeout(this.ctx.connectTimeoutMs);
    const onFail = (reason: string): void => {
      dropSocket(server);
      if (this.pending === server) this.pending = null;
      this.connectFailed(reason);
    };
    server.once('timeout', () => onFail('connect timeout'));
    server.once('error', (err: NodeJS.ErrnoException) => onFail(err.code ?? err.message));
    server.once('connect', () => {
      server.removeAllListeners();
      server.setTimeout(0);
      this.pending = null;
      this.established(server);
    });
  }

  private connectFailed(reason: string): void {
    this.ctx.counters.connectFailures++;
    const failed = this.dest;
    const next = this.clientClosed || this.retried ? null : this.svc.repick(this.caddr, this.cport, failed);
    this.ctx.log.warn(
      { service: this.svc.key, realServer: failed.key, reason, retryOn: next?.key ?? null, client: `${this.caddr}:${this.cport}` },
      next ? 'real server failed, retrying on another' : 'real server failed, no retry left',
    );
    if (this.clientClosed) return this.finish();
    if (!next) {
      this.client.resetAndDestroy();
      return;
    }
    unbindConnection(failed.sched, 'inactive');
    this.retried = true;
    this.ctx.counters.retries++;
    if (this.template && this.template.conns === 1) this.svc.moveTemplate(this.template, next);
    this.bindTo(next);
    this.connectServer();
  }

  private established(server: Socket): void {
    const { client, dest, svc } = this;
    this.server = server;
    this.state = 'ESTABLISHED';
    connectionBecameActive(dest.sched);
    this.last = Date.now();
    server.on('error', () => client.resetAndDestroy());
    server.on('close', () => this.serverGone());
    if (dest.proxyProtocol) {
      server.write(
        encodeProxyV2({
          protocol: 'tcp',
          source: { address: this.caddr, port: this.cport },
          destination: { address: client.localAddress ?? svc.service.address, port: client.localPort ?? svc.service.port },
        }),
      );
    }
    const ss = svc.stats;
    const ds = dest.stats;
    pipeBothWays(client, server, {
      onIn: (n) => {
        ss.inPkts++;
        ss.inBytes += n;
        ds.inPkts++;
        ds.inBytes += n;
        this.last = Date.now();
      },
      onOut: (n) => {
        ss.outPkts++;
        ss.outBytes += n;
        ds.outPkts++;
        ds.outBytes += n;
        this.last = Date.now();
      },
      onEnd: () => this.finWait(),
    });
  }

  private finWait(): void {
    if (this.state !== 'ESTABLISHED') return;
    this.state = 'FIN_WAIT';
    this.last = Date.now();
    connectionBecameInactive(this.dest.sched);
  }

  private clientGone(): void {
    this.clientClosed = true;
    if (this.pending) {
      // The client left while the real server was being connected: abandon the attempt.
      dropSocket(this.pending);
      this.pending = null;
      return this.finish();
    }
    // No server leg: the last attempt failed.
    if (!this.server) return this.finish();
    closeUnlessDone(this.server);
    if (this.serverClosed) this.finish();
  }

  private serverGone(): void {
    this.serverClosed = true;
    closeUnlessDone(this.client);
    if (this.clientClosed) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const wasActive = this.state === 'ESTABLISHED';
    this.state = 'CLOSE';
    unbindConnection(this.dest.sched, wasActive ? 'active' : 'inactive');
    this.template?.detach(Date.now());
    this.svc.conns.delete(this);
  }

  sweep(now: number): void {
    if (now - this.last < this.timeoutMs()) return;
    this.ctx.log.debug({ service: this.svc.key, state: this.state }, 'connection expired');
    this.destroy();
  }

  private timeoutMs(): number {
    const t = this.ctx.timeouts;
    if (this.state === 'ESTABLISHED') return t.tcp * 1000;
    if (this.state === 'FIN_WAIT') return t.tcpfin * 1000;
    // SYN_RECV: the connect timeout bounds it already (twice, with the retry); this is a safety net.
    return this.ctx.connectTimeoutMs * 2 + 1000;
  }

  destroy(): void {
    if (this.pending) {
      dropSocket(this.pending);
      this.pending = null;
    }
    this.server?.destroy();
    this.client.destroy();
  }

  entry(now: number): ConnectionEntry {
    const expires = Math.max(0, Math.ceil((this.timeoutMs() - (now - this.last)) / 1000));
    const svc = this.svc.service;
    return {
      protocol: 'TCP',
      expires,
      state: this.state,
      client: { address: this.caddr, port: this.cport },
      virtual: { address: svc.address, port: svc.port },
      destination: { address: this.dest.sched.address, port: this.dest.sched.port },
    };
  }
}

/** Destroy a socket whose events no longer matter. */
function dropSocket(s: Socket): void {
  s.removeAllListeners();
  s.on('error', () => undefined);
  s.destroy();
}

/** The other leg closed: close this one too unless both its directions already finished (a clean close). */
function closeUnlessDone(s: Socket): void {
  if (s.destroyed) return;
  if (!(s.writableEnded && s.readableEnded)) s.destroy();
}
