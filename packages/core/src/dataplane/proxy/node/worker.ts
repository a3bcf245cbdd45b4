/**
 * Entry point of a forwarding worker process (see workers.ts). It accepts on listening sockets shared by
 * the primary, asks the primary where each connection goes, connects, forwards both ways with backpressure
 * and half-close, and reports state changes and byte/packet counts back. It never schedules: on a failed
 * connect it asks again, and the primary answers with another real server or a reset.
 */
import { connect, type Server, type Socket } from 'node:net';
import { pipeBothWays } from './pipe.js';
import { STATS_FLUSH_MS, type FromWorker, type ToWorker } from './worker-protocol.js';

class WorkerConn {
  server: Socket | null = null;
  pending: Socket | null = null;
  inPkts = 0;
  inBytes = 0;
  outPkts = 0;
  outBytes = 0;
  dirty = false;
  fin = false;
  clientClosed = false;
  serverClosed = false;
  done = false;

  constructor(
    readonly id: number,
    readonly client: Socket,
    readonly connectTimeoutMs: number,
  ) {
    client.on('error', () => this.server?.resetAndDestroy());
    client.on('close', () => this.clientGone());
  }

  connect(host: string, port: number, pp: string | null): void {
    const s = connect({ host, port, allowHalfOpen: true, noDelay: true });
    this.pending = s;
    s.setTimeout(this.connectTimeoutMs);
    const fail = (reason: string): void => {
      drop(s);
      if (this.pending !== s) return;
      this.pending = null;
      if (!this.clientClosed) send({ t: 'f', id: this.id, reason });
    };
    s.once('timeout', () => fail('connect timeout'));
    s.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    s.once('connect', () => {
      s.removeAllListeners();
      s.setTimeout(0);
      this.pending = null;
      this.established(s, pp);
    });
  }

  private established(server: Socket, pp: string | null): void {
    const client = this.client;
    this.server = server;
    send({ t: 'e', id: this.id });
    server.on('error', () => client.resetAndDestroy());
    server.on('close', () => this.serverGone());
    if (pp) server.write(Buffer.from(pp, 'base64'));
    pipeBothWays(client, server, {
      onIn: (n) => {
        this.inPkts++;
        this.inBytes += n;
        this.mark();
      },
      onOut: (n) => {
        this.outPkts++;
        this.outBytes += n;
        this.mark();
      },
      onEnd: () => this.finWait(),
    });
  }

  private mark(): void {
    if (this.dirty) return;
    this.dirty = true;
    dirty.push(this);
  }

  private finWait(): void {
    if (this.fin) return;
    this.fin = true;
    send({ t: 'w', id: this.id });
  }

  private clientGone(): void {
    this.clientClosed = true;
    if (this.pending) {
      drop(this.pending);
      this.pending = null;
    }
    if (!this.server) return this.finish();
    if (!this.server.destroyed && !(this.server.writableEnded && this.server.readableEnded)) this.server.destroy();
    if (this.serverClosed) this.finish();
  }

  private serverGone(): void {
    this.serverClosed = true;
    const c = this.client;
    if (!c.destroyed && !(c.writableEnded && c.readableEnded)) c.destroy();
    if (this.clientClosed) this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    conns.delete(this.id);
    send({ t: 'd', id: this.id, d: this.take() });
  }

  /** Deltas since the last report. */
  take(): number[] {
    const d = [this.inPkts, this.inBytes, this.outPkts, this.outBytes];
    this.inPkts = this.inBytes = this.outPkts = this.outBytes = 0;
    this.dirty = false;
    return d;
  }

  destroy(reset: boolean): void {
    if (this.pending) {
      drop(this.pending);
      this.pending = null;
    }
    this.server?.destroy();
    if (reset) this.client.resetAndDestroy();
    else this.client.destroy();
  }
}

const conns = new Map<number, WorkerConn>();
let dirty: WorkerConn[] = [];

function send(m: FromWorker): void {
  if (process.connected) process.send!(m);
}

function drop(s: Socket): void {
  s.removeAllListeners();
  s.on('error', () => undefined);
  s.destroy();
}

const listeners = new Map<string, Server>();
let nextId = 1;

/** Accept on a listening socket shared by the primary; the primary decides where each connection goes. */
function listen(key: string, server: Server, connectTimeoutMs: number): void {
  // A server rebuilt from a passed handle has Node's defaults: keep half-close and hold reads until connected.
  const opts = server as unknown as { allowHalfOpen: boolean; pauseOnConnect: boolean };
  opts.allowHalfOpen = true;
  opts.pauseOnConnect = true;
  server.on('connection', (s: Socket) => {
    if (s.remoteAddress === undefined || s.remotePort === undefined) return void s.destroy();
    s.setNoDelay(true);
    const id = nextId++;
    conns.set(id, new WorkerConn(id, s, connectTimeoutMs));
    send({ t: 'a', id, key, caddr: s.remoteAddress, cport: s.remotePort, laddr: s.localAddress ?? '', lport: s.localPort ?? 0 });
  });
  server.on('error', () => undefined);
  listeners.get(key)?.close();
  listeners.set(key, server);
}

process.on('message', (m: ToWorker, handle?: Server) => {
  if (m.t === 'l') {
    if (handle) listen(m.key, handle, m.ct);
    return;
  }
  if (m.t === 'u') {
    listeners.get(m.key)?.close();
    listeners.delete(m.key);
    return;
  }
  const c = conns.get(m.id);
  if (!c) return;
  if (m.t === 'r') c.connect(m.host, m.port, m.pp);
  else c.destroy(m.t === 'x');
});

setInterval(() => {
  if (dirty.length === 0) return;
  const d: number[] = [];
  for (const c of dirty) if (!c.done) d.push(c.id, ...c.take());
  dirty = [];
  if (d.length) send({ t: 's', d });
}, STATS_FLUSH_MS);

send({ t: 'ready' });

// The primary going away ends the worker: its connections would have no accounting left.
process.on('disconnect', () => {
  for (const l of listeners.values()) l.close();
  for (const c of conns.values()) c.destroy(false);
  setTimeout(() => process.exit(0), 50).unref();
});
