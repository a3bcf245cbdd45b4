import { connect } from 'node:net';
import { closeSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { createProxyDataplane, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { freebindTcpListener } from '../../../src/dataplane/proxy/freebind.js';
import { parseVirtualService } from '../../../src/model/schema.js';
import { dial, freePort, LOCAL, nameBackend, nameOf, table, until, type Backend, type Client, ENGINES } from './helpers.js';

function captureLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, dest), lines };
}

/** A listener that never accepts, with its backlog full: further SYNs are dropped and a connect to it hangs. */
async function hangingServer(): Promise<{ port: number; close(): void }> {
  const port = await freePort();
  const fd = freebindTcpListener(LOCAL, port, 0);
  const fillers = Array.from({ length: 4 }, () => connect({ host: LOCAL, port }).on('error', () => undefined));
  await new Promise((r) => setTimeout(r, 100));
  return {
    port,
    close: () => {
      for (const f of fillers) f.destroy();
      closeSync(fd);
    },
  };
}

/** Connect and send `text` at once (before the proxy has even accepted), then read the greeting and the echo. */
function speakFirst(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: LOCAL, port });
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.endsWith(text)) {
        s.destroy();
        resolve(got);
      }
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error(`closed after ${JSON.stringify(got)}`)));
    s.write(text);
  });
}

describe.each(ENGINES)('proxy dataplane (engine: $engine): persistence, removal, failures, close', ({ engine }) => {
  let dp: ProxyDataplane;
  let a: Backend;
  let b: Backend;
  let vport: number;
  const clients: Client[] = [];

  beforeEach(async () => {
    a = await nameBackend('A');
    b = await nameBackend('B');
    vport = await freePort();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await dp.close(0);
    await a.close();
    await b.close();
  });

  it('keeps a client on its real server while the template lives, then lets it expire', async () => {
    dp = createProxyDataplane({ engine, sweepIntervalMs: 20 });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', persistence: { timeout: 1 }, dests: [{ port: a.port }, { port: b.port }] }));
    const first = await nameOf(vport);
    for (let i = 0; i < 4; i++) expect(await nameOf(vport)).toBe(first);
    const st = (await dp.status())[0]!;
    expect(st.dests.map((d) => d.persistConns).reduce((x, y) => x + y)).toBe(1);
    const tpl = (await dp.connections()).find((e) => e.template)!;
    expect(tpl).toMatchObject({ state: 'NONE', client: { address: LOCAL, port: 0 }, virtual: { port: vport } });
    expect(tpl.expires).toBeLessThanOrEqual(1);
    // A live connection keeps the template past its timeout.
    const held = await dial(vport);
    clients.push(held);
    await new Promise((r) => setTimeout(r, 1300));
    expect((await dp.connections()).some((e) => e.template)).toBe(true);
    expect(await nameOf(vport)).toBe(first);
    await held.close();
    // One timeout after the last connection ended, the template goes and rr moves on.
    await until(async () => !(await dp.connections()).some((e) => e.template), 3000, 'template expiry');
    expect(await nameOf(vport)).not.toBe(first);
  });

  it('applies the persistence netmask (-M): a /24 of clients shares one template', async () => {
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', persistence: { timeout: 60, netmask: 24 }, dests: [{ port: a.port }, { port: b.port }] }));
    await nameOf(vport);
    const tpl = (await dp.connections()).find((e) => e.template)!;
    expect(tpl.client.address).toBe('127.0.0.0');
  });

  it('sends a persistent client of a quiesced server there still (no expire_quiescent_template)', async () => {
    dp = createProxyDataplane({ engine });
    await dp.start();
    const spec = { port: vport, scheduler: 'rr', persistence: { timeout: 60 } };
    await dp.reconcile(table({ ...spec, dests: [{ port: a.port }, { port: b.port }] }));
    const first = await nameOf(vport);
    const w = (n: string): number => (first === n ? 0 : 1);
    await dp.reconcile(
      table({
        ...spec,
        dests: [
          { port: a.port, weight: w('A') },
          { port: b.port, weight: w('B') },
        ],
      }),
    );
    expect(await nameOf(vport)).toBe(first);
  });

  it('with expireQuiescentTemplate, a quiesced server loses its persistent clients', async () => {
    dp = createProxyDataplane({ engine, expireQuiescentTemplate: true });
    await dp.start();
    const spec = { port: vport, scheduler: 'rr', persistence: { timeout: 60 } };
    await dp.reconcile(table({ ...spec, dests: [{ port: a.port }, { port: b.port }] }));
    const first = await nameOf(vport);
    const w = (n: string): number => (first === n ? 0 : 1);
    await dp.reconcile(
      table({
        ...spec,
        dests: [
          { port: a.port, weight: w('A') },
          { port: b.port, weight: w('B') },
        ],
      }),
    );
    expect(await nameOf(vport)).not.toBe(first);
  });

  it('keeps connections of a removed real server until they end (dest trash), and schedules around it', async () => {
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: b.port }] }));
    const c1 = await dial(vport);
    const c2 = await dial(vport);
    clients.push(c1, c2);
    const onA = [c1, c2].find((c) => c.name === 'A')!;
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: b.port }] }));
    for (let i = 0; i < 3; i++) expect(await nameOf(vport)).toBe('B');
    const st = (await dp.status())[0]!;
    expect(st.dests.map((d) => d.key)).toEqual([`${LOCAL}:${b.port}`]);
    expect((await dp.connections()).some((e) => e.destination.port === a.port)).toBe(true);
    onA.socket.resume();
    const echoed = new Promise<string>((r) => onA.socket.once('data', (d) => r(d.toString())));
    onA.socket.write('ping');
    expect(await echoed).toBe('ping');
    await onA.close();
    await until(async () => !(await dp.connections()).some((e) => e.destination.port === a.port), 5000, 'A connection gone');
  });

  it('keeps connections of a removed virtual service and stops listening', async () => {
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: a.port }] }));
    const c = await dial(vport);
    clients.push(c);
    await dp.reconcile([]);
    expect(await dp.status()).toEqual([]);
    await expect(nameOf(vport)).rejects.toThrow();
    c.socket.resume();
    const echoed = new Promise<string>((r) => c.socket.once('data', (d) => r(d.toString())));
    c.socket.write('x');
    expect(await echoed).toBe('x');
    expect(dp.connectionCount()).toBe(1);
  });

  it('retries once on another real server when one refuses, counts and logs it', async () => {
    const dead = await freePort();
    const { logger, lines } = captureLogger();
    dp = createProxyDataplane({ engine, logger });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: dead }] }));
    for (let i = 0; i < 4; i++) expect(await nameOf(vport)).toBe('A');
    // rr's cursor lands on A with each retry, so every new connection tries the dead one first.
    const pc = dp.proxyCounters();
    expect(pc.connectFailures).toBe(4);
    expect(pc.retries).toBe(4);
    expect(lines.filter((l) => l.msg === 'real server failed, retrying on another' && l.realServer === `${LOCAL}:${dead}`)).toHaveLength(4);
    const st = (await dp.status())[0]!;
    expect(st.counters.conns).toBe(4);
    expect(st.dests.map((d) => d.activeConns + d.inactiveConns)).toEqual([0, 0]);
  });

  it('retries once on another real server when one does not answer within the connect timeout', async () => {
    const { port: hangPort, close: closeHang } = await hangingServer();
    dp = createProxyDataplane({ engine, connectTimeoutMs: 200 });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: hangPort }] }));
    const t0 = Date.now();
    expect(await nameOf(vport)).toBe('A');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(dp.proxyCounters()).toMatchObject({ connectFailures: 1, retries: 1 });
    closeHang();
  });

  it('carries what a client sent first to the real server of the retry when one refuses', async () => {
    const dead = await freePort();
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: dead }] }));
    // The client speaks first, as HTTP does: its bytes are read before the real server is known to be up.
    for (let i = 0; i < 3; i++) expect(await speakFirst(vport, `request ${i}`)).toBe(`A\nrequest ${i}`);
    expect(dp.proxyCounters().retries).toBe(3);
  });

  it('carries what a client sent first to the real server of the retry when one does not answer', async () => {
    const { port: hangPort, close: closeHang } = await hangingServer();
    dp = createProxyDataplane({ engine, connectTimeoutMs: 200 });
    await dp.start();
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: hangPort }] }));
    // Read while the first real server's handshake hangs, owed to it, then handed to the retry's.
    expect(await speakFirst(vport, 'GET / HTTP/1.0')).toBe('A\nGET / HTTP/1.0');
    expect(dp.proxyCounters()).toMatchObject({ connectFailures: 1, retries: 1 });
    const [st] = await dp.status();
    expect(st!.counters.inBytes).toBe('GET / HTTP/1.0'.length);
    // Counted against the real server that got them.
    expect(st!.dests.map((d) => d.counters.inBytes)).toEqual(['GET / HTTP/1.0'.length, 0]);
    closeHang();
  });

  it('resets the client when no real server is available', async () => {
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: a.port, weight: 0 }] }));
    await expect(nameOf(vport)).rejects.toThrow();
    expect(dp.proxyCounters().noDestination).toBe(1);
  });

  it('close(drainMs) stops accepting, lets connections finish, then force-closes', async () => {
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: a.port }] }));
    const polite = await dial(vport);
    const stubborn = await dial(vport);
    const stubbornClosed = new Promise((r) => stubborn.socket.once('close', r));
    stubborn.socket.resume();
    setTimeout(() => void polite.close(), 100);
    const t0 = Date.now();
    const closing = dp.close(600);
    await new Promise((r) => setTimeout(r, 20));
    await expect(nameOf(vport)).rejects.toThrow();
    await closing;
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(2000);
    await stubbornClosed;
    expect(dp.connectionCount()).toBe(0);
  });

  it('close(drainMs) returns as soon as the last connection ends', async () => {
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile(table({ port: vport, dests: [{ port: a.port }] }));
    const c = await dial(vport);
    setTimeout(() => void c.close(), 100);
    const t0 = Date.now();
    await dp.close(5000);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('binds a VIP that is not on the host with IP_FREEBIND', async () => {
    const { logger, lines } = captureLogger();
    dp = createProxyDataplane({ engine, logger });
    await dp.start();
    const t = table({ port: vport, dests: [{ port: a.port }] });
    // 192.0.2.0/24 is TEST-NET-1: never configured here; nothing is sent to it, the socket only listens.
    const service = parseVirtualService({ ...t[0]!.service, address: '192.0.2.77' });
    await dp.reconcile([{ ...t[0]!, key: `tcp 192.0.2.77:${vport}`, service }]);
    expect(lines.some((l) => l.msg === 'VIP not on this host: listening with IP_FREEBIND')).toBe(true);
    const hexPort = vport.toString(16).toUpperCase().padStart(4, '0');
    // 192.0.2.77 as /proc/net/tcp prints it (little-endian hex), in state 0A (LISTEN).
    expect(readFileSync('/proc/net/tcp', 'utf8')).toMatch(new RegExp(`4D0200C0:${hexPort} 00000000:0000 0A`));
  });

  it('ignores firewall-mark services with a warning and still lists them', async () => {
    const { logger, lines } = captureLogger();
    dp = createProxyDataplane({ engine, logger });
    await dp.start();
    const service = parseVirtualService({ fwmark: 7, realServers: [{ address: LOCAL, port: a.port, forwarding: 'masq' }] });
    const entry = { key: 'fwmark 7', service, dests: [{ ...service.realServers[0]!, key: `${LOCAL}:${a.port}`, effectiveWeight: 1, sorry: false }] };
    await dp.reconcile([entry]);
    await dp.reconcile([entry]);
    expect(lines.filter((l) => l.msg === 'virtual service ignored by the proxy dataplane')).toHaveLength(1);
    expect((await dp.status())[0]).toMatchObject({ key: 'fwmark 7', counters: { conns: 0 } });
    expect(dp.supports('masq')).toBe(true);
    expect(dp.supports('route')).toBe(false);
    expect(dp.supports('tunnel')).toBe(false);
  });

  it('retries a listener that cannot bind yet, and serves once it can', async () => {
    const blocker = await nameBackend('blocker');
    dp = createProxyDataplane({ engine, listenRetryMs: 50 });
    await dp.start();
    await dp.reconcile(table({ port: blocker.port, dests: [{ port: a.port }] }));
    await blocker.close();
    await until(async () => (await nameOf(blocker.port).catch(() => '')) === 'A', 3000, 'listener retry');
  });
});
