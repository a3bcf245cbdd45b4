/**
 * One proxied TCP connection on Node's sockets (the `node` engine): client socket <-> real-server socket, with
 * backpressure (a side that cannot take more pauses the other) and half-close (a FIN from one side is passed on
 * and the other direction keeps flowing). States, counts, the retry and expiry are TrackedTcpConn's.
 *
 * Packets: each chunk read from a socket counts as one packet; bytes are the payload bytes read (the PROXY
 * header is not counted). "in" is client -> real server, "out" is real server -> client, as for IPVS/NAT.
 */
import { connect, type Socket } from 'node:net';
import { encodeProxyV2 } from '../proxy-protocol.js';
import type { ProxyService } from '../service.js';
import { TrackedTcpConn } from '../tcp-tracked.js';
import type { Template } from '../template.js';
import type { ProxyContext, ProxyDest } from '../types.js';
import { pipeBothWays } from './pipe.js';

export class TcpConn extends TrackedTcpConn {
  /** The real-server leg once connected; `pending` while connecting. */
  private server: Socket | null = null;
  private pending: Socket | null = null;
  private clientClosed = false;
  private serverClosed = false;

  constructor(
    svc: ProxyService,
    ctx: ProxyContext,
    private readonly client: Socket,
    caddr: string,
    cport: number,
    dest: ProxyDest,
    template: Template | null,
    now: number,
  ) {
    super(svc, ctx, caddr, cport, dest, template, now);
    client.on('error', () => this.server?.resetAndDestroy());
    client.on('close', () => this.clientGone());
    this.connectServer();
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
    const next = this.retryTarget(reason, this.clientClosed);
    if (this.clientClosed) return this.finish();
    if (!next) {
      this.client.resetAndDestroy();
      return;
    }
    this.connectServer();
  }

  private established(server: Socket): void {
    const { client, dest, svc } = this;
    this.server = server;
    this.markEstablished(Date.now());
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
    pipeBothWays(client, server, {
      onIn: (n) => this.count(true, n, Date.now()),
      onOut: (n) => this.count(false, n, Date.now()),
      onEnd: () => this.markFinWait(Date.now()),
    });
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
    this.release(Date.now());
  }

  destroy(): void {
    if (this.pending) {
      dropSocket(this.pending);
      this.pending = null;
    }
    this.server?.destroy();
    this.client.destroy();
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
