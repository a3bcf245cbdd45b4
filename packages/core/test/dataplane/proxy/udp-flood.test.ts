/**
 * Issue 16: every new UDP source took its own socket for 300 s, with no bound, so spoofed sources exhausted the
 * process's descriptors (then TCP accepts and the control socket failed with EMFILE). The flood here sends one
 * datagram from each of many 127/8 addresses (one short-lived socket at a time, as a spoofing sender would
 * look), and the dataplane must stay bounded, keep its conversing clients, count what it dropped, and keep
 * serving TCP without stalling its loop.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { defaultUdpMaxFlows, openFileLimit } from '../../../src/dataplane/proxy/udp-flows.js';
import { worstLag } from '../../loop-lag.js';
import { freePort, nameBackend, nameOf, table, udpBackend, udpClient, until } from './helpers.js';

/** One datagram from each of `n` sources 127.N.x.y:ephemeral; never more than one socket open at a time. */
async function flood(port: number, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const s = createSocket('udp4');
    const address = `127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    await new Promise<void>((r) => s.send('spoofed', port, '127.0.0.1', () => r()));
    await new Promise<void>((r) => s.close(() => r()));
    // Sender and dataplane share this loop: a pause now and then lets the listener drain its receive buffer.
    if (i % 32 === 31) await new Promise((r) => setTimeout(r, 1));
  }
}

describe('proxy dataplane: UDP flow table bound (issue 16)', () => {
  let dp: ProxyDataplane;
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await dp?.close(0);
    for (const c of closers.splice(0)) await c();
  });

  it('derives its default from RLIMIT_NOFILE', () => {
    expect(openFileLimit('Max open files            1024                 524288               files     \n')).toBe(1024);
    expect(defaultUdpMaxFlows(1024)).toBe(512);
    expect(defaultUdpMaxFlows(20)).toBe(64);
    expect(defaultUdpMaxFlows(null)).toBe(512);
    expect(openFileLimit()).toBeGreaterThan(0);
  });

  it('a flood of spoofed sources stays within the cap, evicts only never-replied flows, and TCP keeps being served', async () => {
    const a = await udpBackend('A');
    const web = await nameBackend('W');
    closers.push(a.close, web.close);
    const [uport, tport] = [await freePort('udp'), await freePort()];
    dp = createProxyDataplane({ udpMaxFlows: 64, udpIdleTimeoutMs: 300_000 });
    await dp.start();
    await dp.reconcile(table({ protocol: 'udp', port: uport, dests: [{ port: a.port }] }, { port: tport, dests: [{ port: web.port }] }));
    // A client in a conversation: a reply came back, then it sent again (assured).
    const c = await udpClient();
    closers.push(c.close);
    expect(await c.ask(uport, 'hello')).toBe('A:hello');
    expect(await c.ask(uport, 'again')).toBe('A:again');
    const cport = c.socket.address().port;

    const t0 = performance.now();
    const { lagMs } = await worstLag(() => flood(uport, 1500));
    const floodMs = performance.now() - t0;
    await until(() => a.received.length >= 2 + 1500 - 1, 10_000, 'the flood to reach the real server');

    const info = (await dp.info()).udpFlows!;
    expect(info.max).toBe(64);
    expect(info.live).toBeLessThanOrEqual(64);
    expect(dp.connectionCount()).toBeLessThanOrEqual(64);
    expect(info.evicted).toBeGreaterThanOrEqual(1500 + 1 - 64);
    expect(info.refused).toBe(0);
    expect(dp.proxyCounters()).toMatchObject({ udpFlowsEvicted: info.evicted, udpFlowsRefused: 0 });
    // The conversing client kept its flow (same entry, same real server) through the flood.
    expect((await dp.connections()).some((e) => e.protocol === 'UDP' && e.client.port === cport)).toBe(true);
    expect(await c.ask(uport, 'still')).toBe('A:still');
    // TCP accepts and the loop never stalled.
    expect(await nameOf(tport)).toBe('W');
    expect(lagMs).toBeLessThan(250);
    console.log(`UDP flood: 1500 sources in ${floodMs.toFixed(0)} ms, ${info.evicted} flows evicted, worst loop lag ${lagMs.toFixed(1)} ms`);
  });

  it('refuses a new flow when every flow is in a conversation, and counts it', async () => {
    const a = await udpBackend('A');
    closers.push(a.close);
    const uport = await freePort('udp');
    dp = createProxyDataplane({ udpMaxFlows: 2 });
    await dp.start();
    await dp.reconcile(table({ protocol: 'udp', port: uport, dests: [{ port: a.port }] }));
    const clients = [await udpClient(), await udpClient(), await udpClient()];
    closers.push(...clients.map((x) => x.close));
    for (const x of clients.slice(0, 2)) {
      await x.ask(uport, '1');
      await x.ask(uport, '2');
    }
    await expect(clients[2]!.ask(uport, 'new')).rejects.toThrow(/no UDP reply/);
    expect((await dp.info()).udpFlows).toMatchObject({ live: 2, evicted: 0, refused: 1 });
    for (const x of clients.slice(0, 2)) expect(await x.ask(uport, '3')).toBe('A:3');
  });

  it('a flooded service gives up its own flows first; another UDP service keeps room (per-service cap)', async () => {
    const a = await udpBackend('A');
    const b = await udpBackend('B');
    closers.push(a.close, b.close);
    const [p1, p2] = [await freePort('udp'), await freePort('udp')];
    dp = createProxyDataplane({ udpMaxFlows: 30, udpMaxFlowsPerService: 20 });
    await dp.start();
    await dp.reconcile(table({ protocol: 'udp', port: p1, dests: [{ port: a.port }] }, { protocol: 'udp', port: p2, dests: [{ port: b.port }] }));
    await flood(p1, 200);
    await until(() => a.received.length >= 199, 10_000, 'the flood');
    expect((await dp.info()).udpFlows!.live).toBeLessThanOrEqual(20);
    const c = await udpClient();
    closers.push(c.close);
    expect(await c.ask(p2, 'x')).toBe('B:x');
    await flood(p2, 50, 1000);
    await until(() => b.received.length >= 50, 10_000, 'the second flood');
    const u = (await dp.info()).udpFlows!;
    expect(u.live).toBeLessThanOrEqual(30);
    expect(u.refused).toBe(0);
  });

  it('one-packet scheduling: the reply paths count against the same bound', async () => {
    const a = await udpBackend('A');
    closers.push(a.close);
    const uport = await freePort('udp');
    dp = createProxyDataplane({ udpMaxFlows: 16 });
    await dp.start();
    await dp.reconcile(table({ protocol: 'udp', port: uport, onePacket: true, dests: [{ port: a.port }] }));
    await flood(uport, 300);
    await until(() => a.received.length >= 299, 10_000, 'the flood');
    const u = (await dp.info()).udpFlows!;
    expect(u.live).toBeLessThanOrEqual(16);
    expect(u.evicted).toBeGreaterThanOrEqual(300 - 16);
  });
});
