/**
 * Connection churn and edge timings, for both TCP engines: many short connections at once, a client that sends
 * and closes before the real server is even connected, a real server that answers and closes at once, a large
 * transfer both ways, and resets from either side. After each, the table must be empty and the counts exact.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { ENGINES, freePort, LOCAL, nameBackend, table, until, type Backend } from './helpers.js';

/** Send `payload`, half-close, and collect everything until the proxy closes. */
function exchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const s = connect({ host: LOCAL, port, allowHalfOpen: true });
    s.on('data', (d) => parts.push(d));
    s.once('end', () => {
      s.end();
      resolve(Buffer.concat(parts));
    });
    s.once('error', reject);
    s.end(payload);
  });
}

/** An echo backend that answers only after the client's FIN (so the reply proves the FIN was passed on). */
async function echoAfterFin(): Promise<Backend> {
  return nameBackend(
    'E',
    (s) => {
      const parts: Buffer[] = [];
      s.on('data', (d) => parts.push(d));
      s.on('end', () => s.end(Buffer.concat(parts)));
    },
    { allowHalfOpen: true },
  );
}

// The epoll engine also with two threads: the same churn through two loops sharing the listener.
const CHURN_ENGINES = [...ENGINES.map((e) => ({ ...e, threads: 1 })), { engine: 'epoll' as const, threads: 2 }];

describe.each(CHURN_ENGINES)('proxy dataplane (engine: $engine, threads: $threads): churn and edge timings', ({ engine, threads }) => {
  let dp: ProxyDataplane;
  const backends: Backend[] = [];
  let vport: number;

  beforeEach(async () => {
    vport = await freePort();
  });

  afterEach(async () => {
    await dp.close(0);
    for (const b of backends.splice(0)) await b.close();
  });

  async function start(dests: Backend[]): Promise<void> {
    dp = createProxyDataplane({ engine, threads });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: dests.map((b) => ({ port: b.port })) }));
  }

  it('carries 400 short connections, 50 at a time, and ends with an empty table and exact counters', async () => {
    const a = await echoAfterFin();
    const b = await echoAfterFin();
    backends.push(a, b);
    await start([a, b]);
    let bytes = 0;
    for (let round = 0; round < 8; round++) {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const msg = Buffer.from(`round ${round} client ${i}\n`);
          bytes += msg.length;
          return exchange(vport, msg).then((r) => expect(r.toString()).toBe(msg.toString()));
        }),
      );
      expect(replies).toHaveLength(50);
    }
    await until(() => dp.connectionCount() === 0, 5000, 'every connection to end');
    const [st] = await dp.status();
    expect(st!.counters.conns).toBe(400);
    expect(st!.counters.inBytes).toBe(bytes);
    expect(st!.counters.outBytes).toBe(bytes);
    // rr: exactly half each, and nothing left active or inactive.
    // With two threads too: they share rr's position.
    expect(st!.dests.map((d) => d.counters.conns)).toEqual([200, 200]);
    expect(st!.dests.map((d) => d.activeConns + d.inactiveConns)).toEqual([0, 0]);
    expect(a.accepted + b.accepted).toBe(400);
  });

  it('passes on what a client sent and its FIN even when both arrived before the real server was connected', async () => {
    const e = await echoAfterFin();
    backends.push(e);
    await start([e]);
    // The connection, the bytes and the FIN leave in one go: the proxy sees all of it while still connecting.
    const r = await exchange(vport, Buffer.from('early bird'));
    expect(r.toString()).toBe('early bird');
    await until(() => dp.connectionCount() === 0, 3000, 'connection to end');
  });

  it('delivers a real server answer sent together with its FIN, and closes', async () => {
    const quick = await nameBackend('Q', (s) => s.end('greeting and goodbye\n'));
    backends.push(quick);
    await start([quick]);
    const got = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const s = connect({ host: LOCAL, port: vport });
      s.on('data', (d) => (buf += d.toString()));
      s.once('close', () => resolve(buf));
      s.once('error', reject);
    });
    expect(got).toBe('greeting and goodbye\n');
    await until(() => dp.connectionCount() === 0, 3000, 'connection to end');
  });

  it('moves 8 MiB each way at once and counts every byte', async () => {
    const e = await nameBackend('P', (s) => s.pipe(s), { allowHalfOpen: true });
    backends.push(e);
    await start([e]);
    const size = 8 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) payload.writeUInt32LE(i, i);
    const r = await exchange(vport, payload);
    expect(r.length).toBe(size);
    expect(r.equals(payload)).toBe(true);
    await until(() => dp.connectionCount() === 0, 3000, 'connection to end');
    const [st] = await dp.status();
    expect(st!.counters.inBytes).toBe(size);
    expect(st!.counters.outBytes).toBe(size);
  });

  it('resets the real server side when the client resets, and the client side when the real server resets', async () => {
    const serverSockets: Socket[] = [];
    const serverClosed: Array<Promise<void>> = [];
    const hold = await nameBackend('H', (s) => {
      serverSockets.push(s);
      serverClosed.push(new Promise((r) => s.once('close', () => r())));
      s.write('H\n');
    });
    backends.push(hold);
    await start([hold]);
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect({ host: LOCAL, port: vport });
        s.once('data', () => resolve(s));
        s.once('error', reject);
      });
    // Client reset: the proxy must close the real server's socket.
    const c1 = await open();
    c1.resetAndDestroy();
    await until(() => serverClosed.length === 1, 3000, 'server leg');
    await serverClosed[0];
    // Real server reset: the client must see its connection end.
    const c2 = await open();
    const c2Closed = new Promise<void>((r) => c2.once('close', () => r()));
    c2.on('error', () => undefined);
    await until(() => serverSockets.length === 2, 3000, 'second server leg');
    serverSockets[1]!.resetAndDestroy();
    await c2Closed;
    await until(() => dp.connectionCount() === 0, 3000, 'connections to end');
    const [st] = await dp.status();
    expect(st!.dests[0]!.activeConns + st!.dests[0]!.inactiveConns).toBe(0);
  });
});
