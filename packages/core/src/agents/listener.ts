/**
 * The agents' TCP listener: an HTTP server that only upgrades to WebSocket, with a bound on connections that have not
 * authenticated yet (TCP accepted, HTTP upgrade pending, or handshake in progress). Over the bound a new connection
 * is closed at accept, before a byte of it is parsed; each pre-auth connection is destroyed when it has not
 * authenticated within the deadline, whatever stage it is in. Authenticated agents are bounded by the hub's record
 * cap instead, so a flood of anonymous sockets cannot crowd them out.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface AgentListenerOptions {
  host: string;
  port: number;
  maxPreAuth: number;
  /** A connection not authenticated by then is destroyed (the hub closes it politely a little earlier). */
  deadlineMs: number;
  maxPayload: number;
  onConnection(ws: WebSocket, req: IncomingMessage): void;
  /** A connection was closed at accept because maxPreAuth were pending. */
  onBusy(remote: string): void;
}

export class AgentListener {
  private server: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly preAuth = new Map<Socket, NodeJS.Timeout>();

  constructor(private readonly opts: AgentListenerOptions) {}

  get pendingCount(): number {
    return this.preAuth.size;
  }

  async start(): Promise<{ host: string; port: number }> {
    const o = this.opts;
    const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxPayload });
    const server = createServer((_req, res) => {
      res.writeHead(426, { connection: 'close', 'content-type': 'text/plain' });
      res.end('vsd agents: WebSocket only\n');
    });
    server.headersTimeout = o.deadlineMs;
    server.requestTimeout = o.deadlineMs;
    server.on('connection', (sock: Socket) => this.onSocket(sock));
    server.on('upgrade', (req: IncomingMessage, sock: Socket, head: Buffer) => {
      if (!this.preAuth.has(sock)) return void sock.destroy();
      wss.handleUpgrade(req, sock, head, (ws) => o.onConnection(ws, req));
    });
    server.on('clientError', (_err, sock: Socket) => sock.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.wss = wss;
    return this.address()!;
  }

  address(): { host: string; port: number } | null {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : null;
  }

  /** The connection authenticated: it leaves the pre-auth budget and its deadline. */
  authenticated(sock: Socket): void {
    const t = this.preAuth.get(sock);
    if (t === undefined) return;
    clearTimeout(t);
    this.preAuth.delete(sock);
  }

  onError(handler: (err: Error) => void): void {
    this.server?.on('error', handler);
    this.wss?.on('error', handler);
  }

  async stop(): Promise<void> {
    for (const [sock, t] of this.preAuth) {
      clearTimeout(t);
      sock.destroy();
    }
    this.preAuth.clear();
    const server = this.server;
    this.server = null;
    this.wss?.close();
    this.wss = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private onSocket(sock: Socket): void {
    if (this.preAuth.size >= this.opts.maxPreAuth) {
      sock.destroy();
      this.opts.onBusy(sock.remoteAddress ?? '?');
      return;
    }
    const t = setTimeout(() => sock.destroy(), this.opts.deadlineMs);
    t.unref();
    this.preAuth.set(sock, t);
    sock.once('close', () => {
      const timer = this.preAuth.get(sock);
      if (timer !== undefined) clearTimeout(timer);
      this.preAuth.delete(sock);
    });
  }
}
