/** Backends, clients and table builders for the proxy dataplane tests. Everything on 127.0.0.1. */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { realServerKey, serviceKey } from '../../../src/model/keys.js';
import { parseVirtualService } from '../../../src/model/schema.js';
import type { DataplaneService } from '../../../src/dataplane/types.js';

export const LOCAL = '127.0.0.1';

/** A port that was free a moment ago (bind 0, read, close). */
export async function freePort(type: 'tcp' | 'udp' = 'tcp'): Promise<number> {
  if (type === 'udp') {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, LOCAL, () => r()));
    const p = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return p;
  }
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, LOCAL, () => r()));
  const p = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

export interface Backend {
  name: string;
  port: number;
  server: Server;
  sockets: Set<Socket>;
  accepted: number;
  close(): Promise<void>;
}

/** A TCP backend that greets with "NAME\n" and then echoes. */
export async function nameBackend(name: string, onSocket?: (s: Socket) => void, opts: { allowHalfOpen?: boolean } = {}): Promise<Backend> {
  const sockets = new Set<Socket>();
  const b: Backend = {
    name,
    port: 0,
    server: createServer({ allowHalfOpen: opts.allowHalfOpen ?? false }, (s) => {
      b.accepted++;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
      if (onSocket) return onSocket(s);
      s.write(`${name}\n`);
      s.pipe(s);
    }),
    sockets,
    accepted: 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => b.server.close(() => r()));
    },
  };
  await new Promise<void>((r) => b.server.listen(0, LOCAL, () => r()));
  b.port = (b.server.address() as { port: number }).port;
  return b;
}

export interface Client {
  socket: Socket;
  /** The backend's greeting line. */
  name: string;
  close(): Promise<void>;
}

/** Connect through the proxy and read the backend's name. */
export function dial(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOCAL, port });
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      socket.pause();
      resolve({
        socket,
        name: buf.slice(0, nl),
        close: () =>
          new Promise<void>((r) => {
            if (socket.destroyed) return r();
            socket.once('close', () => r());
            socket.resume();
            socket.end();
          }),
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before greeting (got ${JSON.stringify(buf)})`)));
  });
}

/** One connection: read the name and close. */
export async function nameOf(port: number): Promise<string> {
  const c = await dial(port);
  await c.close();
  return c.name;
}

export interface ServiceSpec {
  protocol?: 'tcp' | 'udp';
  port: number;
  scheduler?: string;
  persistence?: { timeout: number; netmask?: number };
  onePacket?: boolean;
  dests: Array<{ port: number; weight?: number; upperThreshold?: number; lowerThreshold?: number }>;
}

/** A table entry as buildTable() makes it, with effective weight = configured weight. */
export function table(...specs: ServiceSpec[]): DataplaneService[] {
  return specs.map((s) => {
    const service = parseVirtualService({
      protocol: s.protocol ?? 'tcp',
      address: LOCAL,
      port: s.port,
      scheduler: s.scheduler ?? 'rr',
      persistence: s.persistence ?? { timeout: 0 },
      onePacket: s.onePacket ?? false,
      realServers: s.dests.map((d) => ({ address: LOCAL, forwarding: 'masq', weight: 1, ...d })),
    });
    return {
      key: serviceKey(service),
      service,
      dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
    };
  });
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A UDP backend answering "NAME:payload". */
export async function udpBackend(name: string): Promise<{ port: number; socket: UdpSocket; received: Buffer[]; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m, r) => {
    received.push(m);
    socket.send(Buffer.concat([Buffer.from(`${name}:`), m]), r.port, r.address);
  });
  await new Promise<void>((r) => socket.bind(0, LOCAL, () => r()));
  return { port: socket.address().port, socket, received, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

/** A UDP client bound to one port (one flow). */
export async function udpClient(): Promise<{ ask(port: number, msg: string): Promise<string>; socket: UdpSocket; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, LOCAL, () => r()));
  return {
    socket,
    ask: (port, msg) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no UDP reply')), 2000);
        socket.once('message', (m) => {
          clearTimeout(t);
          resolve(m.toString());
        });
        socket.send(msg, port, LOCAL);
      }),
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

/** Both TCP engines of the proxy dataplane: its own epoll thread, and Node's sockets. */
export const ENGINES = [{ engine: 'epoll' as const }, { engine: 'node' as const }];
