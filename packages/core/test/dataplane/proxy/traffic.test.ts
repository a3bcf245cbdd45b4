import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, PROXY_V2_SIGNATURE, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { freePort, LOCAL, nameBackend, table, until, type Backend, ENGINES } from './helpers.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: LOCAL, port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

function readAll(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (d) => parts.push(d));
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}

describe.each(ENGINES)('proxy dataplane (engine: $engine): bytes, half-close, backpressure, PROXY v2', ({ engine }) => {
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

  it('counts a known transfer exactly and passes a half-close on', async () => {
    const REQUEST = 100_000;
    const REPLY = 5_000;
    let got = 0;
    // The backend reads until the client's FIN, then answers: only works if the FIN was passed on while the
    // reply direction stayed open.
    const sink = await nameBackend('S', (s) => {
      s.on('data', (d) => (got += d.length));
      s.on('end', () => s.end(Buffer.alloc(REPLY, 7)));
    });
    backends.push(sink);
    sink.server.on('connection', () => undefined);
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: sink.port }] }));
    const c = await open(vport);
    const reply = readAll(c);
    c.end(Buffer.alloc(REQUEST, 1));
    const r = await reply;
    expect(r.length).toBe(REPLY);
    expect(got).toBe(REQUEST);
    await until(() => dp.connectionCount() === 0, 5000, 'connection to end');
    const [st] = await dp.status();
    for (const counters of [st!.counters, st!.dests[0]!.counters]) {
      expect(counters.conns).toBe(1);
      expect(counters.inBytes).toBe(REQUEST);
      expect(counters.outBytes).toBe(REPLY);
      expect(counters.inPkts).toBeGreaterThanOrEqual(1);
      expect(counters.outPkts).toBeGreaterThanOrEqual(1);
    }
    expect(st!.dests[0]!.activeConns + st!.dests[0]!.inactiveConns).toBe(0);
  });

  it('shows FIN_WAIT and an inactive count after the client half-closes', async () => {
    const b = await nameBackend('H', (s) => s.resume(), { allowHalfOpen: true });
    backends.push(b);
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: b.port }] }));
    const c = await open(vport);
    await until(async () => (await dp.connections()).some((e) => e.state === 'ESTABLISHED'), 5000, 'ESTABLISHED');
    expect((await dp.status())[0]!.dests[0]!.activeConns).toBe(1);
    c.end();
    await until(async () => (await dp.connections()).some((e) => e.state === 'FIN_WAIT'), 5000, 'FIN_WAIT');
    const d = (await dp.status())[0]!.dests[0]!;
    expect([d.activeConns, d.inactiveConns]).toEqual([0, 1]);
    const [e] = await dp.connections();
    expect(e).toMatchObject({ protocol: 'TCP', state: 'FIN_WAIT', virtual: { address: LOCAL, port: vport }, destination: { port: b.port } });
    expect(e!.expires).toBeGreaterThan(100);
    c.destroy();
  });

  it('applies backpressure: a client that does not read stops the real server', async () => {
    const TOTAL = 64 * 1024 * 1024;
    let written = 0;
    const src = await nameBackend('P', (s) => {
      const chunk = Buffer.alloc(64 * 1024, 3);
      const pump = (): void => {
        while (written < TOTAL) {
          written += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    backends.push(src);
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: src.port }] }));
    const c = await open(vport);
    c.pause();
    await new Promise((r) => setTimeout(r, 800));
    // Only socket buffers (a few MB each on loopback) may hold data; the proxy must not have read it all.
    const stalledAt = written;
    expect(stalledAt).toBeLessThan(TOTAL / 2);
    const rss = process.memoryUsage().rss;
    let received = 0;
    c.on('data', (d) => (received += d.length));
    c.resume();
    await new Promise((r) => c.once('end', r));
    expect(received).toBe(TOTAL);
    expect(process.memoryUsage().rss - rss).toBeLessThan(TOTAL);
  });

  it('sends a PROXY protocol v2 header before the client bytes', async () => {
    const firstBytes: Buffer[] = [];
    const b = await nameBackend('X', (s) => s.on('data', (d) => firstBytes.push(d)));
    backends.push(b);
    dp = createProxyDataplane({ engine, proxyProtocol: (svc, rs) => svc.startsWith('tcp ') && rs === `${LOCAL}:${b.port}` });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: b.port }] }));
    const c = await open(vport);
    c.write('hello');
    await until(() => Buffer.concat(firstBytes).length >= 28 + 5, 5000, 'header and payload');
    const got = Buffer.concat(firstBytes);
    const expected = Buffer.concat([
      PROXY_V2_SIGNATURE,
      Buffer.from([0x21, 0x11, 0x00, 0x0c, 127, 0, 0, 1, 127, 0, 0, 1]),
      Buffer.from([c.localPort! >> 8, c.localPort! & 0xff, vport >> 8, vport & 0xff]),
      Buffer.from('hello'),
    ]);
    expect(got.toString('hex')).toBe(expected.toString('hex'));
    // The header is not client payload: it is not counted.
    await until(async () => (await dp.status())[0]!.counters.inBytes === 5, 5000, 'inBytes = 5');
    c.destroy();
  });

  it('puts the PROXY header first also before bytes read while the first real server was refusing', async () => {
    const dead = await freePort();
    const firstBytes: Buffer[] = [];
    const b = await nameBackend('X', (s) => s.on('data', (d) => firstBytes.push(d)));
    backends.push(b);
    dp = createProxyDataplane({ engine, proxyProtocol: (_svc, rs) => rs === `${LOCAL}:${b.port}` });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: b.port }, { port: dead }] }));
    const c = connect({ host: LOCAL, port: vport });
    c.on('error', () => undefined);
    c.write('hello');
    await until(() => Buffer.concat(firstBytes).length >= 28 + 5, 5000, 'header and payload');
    const got = Buffer.concat(firstBytes);
    expect(got.subarray(0, 12).toString('hex')).toBe(PROXY_V2_SIGNATURE.toString('hex'));
    expect(got.subarray(28).toString()).toBe('hello');
    expect(dp.proxyCounters().retries).toBe(1);
    c.destroy();
  });
});
