import { afterEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, PROXY_V2_SIGNATURE, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { freePort, table, udpBackend, udpClient, until } from './helpers.js';

describe('proxy dataplane: UDP flows', () => {
  let dp: ProxyDataplane;
  const closers: Array<() => Promise<void>> = [];

  afterEach(async () => {
    await dp.close(0);
    for (const c of closers.splice(0)) await c();
  });

  it('schedules each new client flow, keeps it until idle, then schedules again', async () => {
    const a = await udpBackend('A');
    const b = await udpBackend('B');
    closers.push(a.close, b.close);
    const vport = await freePort('udp');
    dp = createProxyDataplane({ udpIdleTimeoutMs: 300, sweepIntervalMs: 20 });
    await dp.start();
    await dp.reconcile(table({ protocol: 'udp', port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: b.port }] }));
    const c1 = await udpClient();
    const c2 = await udpClient();
    closers.push(c1.close, c2.close);
    const r1 = await c1.ask(vport, 'one');
    const owner = r1.split(':')[0]!;
    expect(await c1.ask(vport, 'two')).toBe(`${owner}:two`);
    expect(await c1.ask(vport, 'three')).toBe(`${owner}:three`);
    const other = (await c2.ask(vport, 'x')).split(':')[0]!;
    expect(other).not.toBe(owner);
    const st = (await dp.status())[0]!;
    // UDP flows count as inactive connections, as IPVS shows them.
    expect(st.dests.map((d) => [d.activeConns, d.inactiveConns])).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(st.counters).toMatchObject({ conns: 2, inPkts: 4, outPkts: 4, inBytes: 3 + 3 + 5 + 1 });
    const entries = await dp.connections();
    expect(entries.map((e) => e.state)).toEqual(['UDP', 'UDP']);
    expect(entries[0]!.protocol).toBe('UDP');
    await until(() => dp.connectionCount() === 0, 5000, 'flows to idle out');
    expect((await dp.status())[0]!.dests.map((d) => d.inactiveConns)).toEqual([0, 0]);
    // c1's next datagram is a new flow: rr continues after c2's pick.
    expect((await c1.ask(vport, 'again')).split(':')[0]).toBe(owner);
    expect((await c2.ask(vport, 'again')).split(':')[0]).toBe(other);
  });

  it('prepends a PROXY v2 header (DGRAM) to each datagram when enabled', async () => {
    const a = await udpBackend('A');
    closers.push(a.close);
    const vport = await freePort('udp');
    dp = createProxyDataplane({ proxyProtocol: true });
    await dp.start();
    await dp.reconcile(table({ protocol: 'udp', port: vport, dests: [{ port: a.port }] }));
    const c = await udpClient();
    closers.push(c.close);
    await c.ask(vport, 'p1');
    await c.ask(vport, 'p2');
    const cport = c.socket.address().port;
    const header = Buffer.concat([
      PROXY_V2_SIGNATURE,
      Buffer.from([0x21, 0x12, 0x00, 0x0c, 127, 0, 0, 1, 127, 0, 0, 1, cport >> 8, cport & 0xff, vport >> 8, vport & 0xff]),
    ]);
    expect(a.received.map((m) => m.toString('hex'))).toEqual([
      Buffer.concat([header, Buffer.from('p1')]).toString('hex'),
      Buffer.concat([header, Buffer.from('p2')]).toString('hex'),
    ]);
  });

  it('keeps a flow of a removed UDP service and serves again when the service comes back', async () => {
    const a = await udpBackend('A');
    closers.push(a.close);
    const vport = await freePort('udp');
    dp = createProxyDataplane({ udpIdleTimeoutMs: 5000 });
    await dp.start();
    const t = table({ protocol: 'udp', port: vport, dests: [{ port: a.port }] });
    await dp.reconcile(t);
    const c1 = await udpClient();
    const c2 = await udpClient();
    closers.push(c1.close, c2.close);
    expect(await c1.ask(vport, 'a')).toBe('A:a');
    await dp.reconcile([]);
    // The live flow still works; a new client is not served.
    expect(await c1.ask(vport, 'b')).toBe('A:b');
    await expect(c2.ask(vport, 'x')).rejects.toThrow('no UDP reply');
    await dp.reconcile(t);
    expect(await c2.ask(vport, 'y')).toBe('A:y');
    expect(dp.connectionCount()).toBe(2);
  });

  it('one-packet scheduling (-o): schedules every datagram, counts each as a connection, lists none, still returns replies', async () => {
    const a = await udpBackend('A');
    const b = await udpBackend('B');
    closers.push(a.close, b.close);
    const vport = await freePort('udp');
    dp = createProxyDataplane({ udpIdleTimeoutMs: 300 });
    await dp.start();
    await dp.reconcile(table({ protocol: 'udp', port: vport, scheduler: 'rr', onePacket: true, dests: [{ port: a.port }, { port: b.port }] }));
    const c = await udpClient();
    closers.push(c.close);
    const owners: string[] = [];
    for (const m of ['1', '2', '3', '4']) owners.push((await c.ask(vport, m)).split(':')[0]!);
    // One client, one source port: with flows it would stick to one real server; with -o each datagram is rr'd.
    expect(owners.join('')).toBe('BABA');
    const st = (await dp.status())[0]!;
    expect(st.counters).toMatchObject({ conns: 4, inPkts: 4, outPkts: 4 });
    expect(st.dests.map((d) => [d.counters.conns, d.activeConns, d.inactiveConns])).toEqual([
      [2, 0, 0],
      [2, 0, 0],
    ]);
    expect(await dp.connections()).toEqual([]);
    expect(dp.connectionCount()).toBe(0);
  });
});
