import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { dial, freePort, nameBackend, nameOf, table, until, type Backend, type Client, ENGINES } from './helpers.js';

describe.each(ENGINES)('proxy dataplane (engine: $engine): scheduling through the proxy', ({ engine }) => {
  let dp: ProxyDataplane;
  let a: Backend;
  let b: Backend;
  let vport: number;
  const clients: Client[] = [];

  beforeEach(async () => {
    a = await nameBackend('A');
    b = await nameBackend('B');
    vport = await freePort();
    dp = createProxyDataplane({ engine, sweepIntervalMs: 50 });
    await dp.start();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    await dp.close(0);
    await a.close();
    await b.close();
  });

  it('rr alternates exactly between real servers', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: b.port }] }));
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(await nameOf(vport));
    // The kernel's list has the newest real server first, so B is picked first.
    expect(seen.join('')).toBe('BABABABA');
    const [st] = await dp.status();
    expect(st!.counters.conns).toBe(8);
    expect(st!.dests.map((d) => d.counters.conns)).toEqual([4, 4]);
  });

  it('wrr follows the weights', async () => {
    await dp.reconcile(
      table({
        port: vport,
        scheduler: 'wrr',
        dests: [
          { port: a.port, weight: 3 },
          { port: b.port, weight: 1 },
        ],
      }),
    );
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) seen.push(await nameOf(vport));
    expect(seen.filter((n) => n === 'A')).toHaveLength(6);
    expect(seen.filter((n) => n === 'B')).toHaveLength(2);
  });

  it('lc follows live connection counts', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'lc', dests: [{ port: a.port }, { port: b.port }] }));
    const c1 = await dial(vport);
    const c2 = await dial(vport);
    clients.push(c1, c2);
    expect(new Set([c1.name, c2.name])).toEqual(new Set(['A', 'B']));
    const [st] = await dp.status();
    expect(st!.dests.map((d) => d.activeConns)).toEqual([1, 1]);
    // Free the one on A: the next connection must go there.
    const onA = c1.name === 'A' ? c1 : c2;
    await onA.close();
    await until(async () => (await dp.status())[0]!.dests[0]!.activeConns === 0, 5000, 'A to drop to 0 active');
    const c3 = await dial(vport);
    clients.push(c3);
    expect(c3.name).toBe('A');
    const c4 = await dial(vport);
    clients.push(c4);
    const c5 = await dial(vport);
    clients.push(c5);
    // With 2 each now... c4 goes to the first in list order among equals, c5 to the other one.
    expect(new Set([c4.name, c5.name])).toEqual(new Set(['A', 'B']));
  });

  it('wlc weighs live connections by weight', async () => {
    await dp.reconcile(
      table({
        port: vport,
        scheduler: 'wlc',
        dests: [
          { port: a.port, weight: 2 },
          { port: b.port, weight: 1 },
        ],
      }),
    );
    for (let i = 0; i < 6; i++) clients.push(await dial(vport));
    const count = (n: string): number => clients.filter((c) => c.name === n).length;
    expect([count('A'), count('B')]).toEqual([4, 2]);
    const [st] = await dp.status();
    expect(st!.dests.map((d) => d.activeConns)).toEqual([4, 2]);
    // Close three on A: wlc must now prefer A (1/2 < 2/1).
    for (const c of clients.filter((x) => x.name === 'A').slice(0, 3)) await c.close();
    await until(async () => (await dp.status())[0]!.dests[0]!.activeConns === 1, 5000, 'A at 1 active');
    const next = await dial(vport);
    clients.push(next);
    expect(next.name).toBe('A');
  });

  it('weight 0 quiesces: no new connections, existing ones continue', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: b.port }] }));
    const held: Client[] = [];
    for (let i = 0; i < 2; i++) held.push(await dial(vport));
    clients.push(...held);
    const onA = held.find((c) => c.name === 'A')!;
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port, weight: 0 }, { port: b.port }] }));
    for (let i = 0; i < 4; i++) expect(await nameOf(vport)).toBe('B');
    // The quiesced server's connection still carries data both ways.
    onA.socket.resume();
    const echoed = new Promise<string>((r) => onA.socket.once('data', (d) => r(d.toString())));
    onA.socket.write('still here');
    expect(await echoed).toBe('still here');
    const [st] = await dp.status();
    expect(st!.dests[0]!.activeConns).toBe(1);
  });

  it('upper threshold marks a real server overloaded until it falls below the lower one', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port, upperThreshold: 1 }, { port: b.port }] }));
    const first = await dial(vport); // B (newest first)
    const second = await dial(vport); // A, which reaches its threshold
    clients.push(first, second);
    expect([first.name, second.name]).toEqual(['B', 'A']);
    for (let i = 0; i < 3; i++) expect(await nameOf(vport)).toBe('B');
    await second.close();
    // The threshold counts inactive connections too (ip_vs_dest_totalconns): A is below it once the closed connection
    // is gone from the table, not when it merely left ESTABLISHED.
    await until(
      async () => {
        const d = (await dp.status())[0]!.dests[0]!;
        return d.activeConns + d.inactiveConns === 0;
      },
      5000,
      'A free',
    );
    const seen = [await nameOf(vport), await nameOf(vport)];
    expect(seen.sort()).toEqual(['A', 'B']);
  });

  it('reconcile is idempotent and does not reset the rotation or drop connections', async () => {
    const t = table({
      port: vport,
      scheduler: 'wrr',
      dests: [
        { port: a.port, weight: 2 },
        { port: b.port, weight: 1 },
      ],
    });
    await dp.reconcile(t);
    const held = await dial(vport);
    clients.push(held);
    const seen = [held.name];
    for (let i = 0; i < 5; i++) {
      await dp.reconcile(
        table({
          port: vport,
          scheduler: 'wrr',
          dests: [
            { port: a.port, weight: 2 },
            { port: b.port, weight: 1 },
          ],
        }),
      );
      seen.push(await nameOf(vport));
    }
    expect(seen.filter((n) => n === 'A')).toHaveLength(4);
    expect(held.socket.destroyed).toBe(false);
  });
});
