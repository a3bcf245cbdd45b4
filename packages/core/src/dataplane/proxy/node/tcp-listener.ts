/**
 * The listening side of a TCP virtual service: accepts on VIP:port, asks the service where the client goes
 * and hands the pair to a TcpConn. Sockets are accepted paused, so nothing is read from a client before its
 * real server is connected.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { freebindTcpListener } from '../freebind.js';
import type { ServiceListener } from '../local.js';
import { NoDestinationLog } from '../no-dest-log.js';
import { unmapped } from '../proxy-protocol.js';
import type { ProxyService } from '../service.js';
import type { ProxyContext } from '../types.js';
import { TcpConn } from './tcp-conn.js';

export class TcpListener implements ServiceListener {
  private readonly server: Server;
  private readonly noDest: NoDestinationLog;
  private lastAcceptError = -Infinity;
  private acceptErrors = 0;

  constructor(
    private readonly svc: ProxyService,
    private readonly ctx: ProxyContext,
  ) {
    this.noDest = new NoDestinationLog(ctx, svc.key);
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (s) => this.accept(s));
    this.server.on('error', (err) => this.failed(err));
  }

  /**
   * A listening server reports accept() failures here (EMFILE, ENFILE, ENOBUFS) and keeps listening: libuv
   * already accepts and closes the waiting client with its reserve descriptor, so nothing spins. One line a
   * second at most, as every new client would otherwise add one.
   */
  private failed(err: Error): void {
    this.acceptErrors++;
    const now = Date.now();
    if (now - this.lastAcceptError < 1000) return;
    this.lastAcceptError = now;
    this.ctx.log.error({ err, service: this.svc.key, failures: this.acceptErrors }, 'listener error');
    this.acceptErrors = 0;
  }

  private accept(socket: Socket): void {
    const svc = this.svc;
    const raddr = socket.remoteAddress;
    const cport = socket.remotePort;
    if (raddr === undefined || cport === undefined || svc.retired) {
      socket.destroy();
      return;
    }
    const caddr = unmapped(raddr);
    const now = Date.now();
    const b = svc.schedule(caddr, cport, now);
    if (!b) {
      this.noDest.hit();
      // IPVS answers with ICMP port unreachable; the nearest a proxy has is a reset.
      socket.on('error', () => undefined);
      socket.resetAndDestroy();
      return;
    }
    new TcpConn(svc, this.ctx, socket, caddr, cport, b.dest, b.template, now);
  }

  /** Bind VIP:port; with `bindFreely`, an address not on the host is bound with IP_FREEBIND. */
  async open(bindFreely: boolean): Promise<void> {
    const { address, port } = this.svc.service;
    try {
      await this.listen({ host: address, port, backlog: 511, exclusive: true });
    } catch (err) {
      if (!bindFreely || (err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err;
      const fd = freebindTcpListener(address, port);
      await this.listen({ fd });
      this.ctx.log.info({ service: this.svc.key }, 'VIP not on this host: listening with IP_FREEBIND');
    }
  }

  private listen(opts: { host?: string; port?: number; backlog?: number; exclusive?: boolean; fd?: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(opts, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  get isOpen(): boolean {
    return this.server.listening;
  }

  /** Nothing outlives close(): accepted connections hold their own sockets. */
  release(): void {}

  /**
   * Stop accepting; connections already accepted are left alone. The listening handle closes at once;
   * only close()'s callback would wait for the accepted connections, so it is not awaited.
   */
  async close(): Promise<void> {
    if (this.server.listening) this.server.close();
  }
}
