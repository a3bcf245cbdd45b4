import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { steerIndex, steeringProgram } from '../../../src/dataplane/proxy/epoll/steer.js';
import { attachReuseportProgram, netCalls, openTcpListener, rawNetCalls, SOCK_CLOEXEC, SOCK_NONBLOCK } from '@vsd/sys';
import { ValidationError } from '../../../src/errors.js';
import { realServerKey } from '../../../src/model/keys.js';
import { dial, freePort, LOCAL, nameBackend, table, until, type Backend, type Client } from './helpers.js';

/** One connection from `source` (any 127/8 address is local): the real server's name, then close. */
function nameFrom(port: number, source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: LOCAL, port, localAddress: source });
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      s.end();
      resolve(buf.slice(0, nl));
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error(`closed before greeting (got ${JSON.stringify(buf)})`)));
  });
}

describe('proxy dataplane: several epoll engine threads on one virtual service', () => {
  let dp: ProxyDataplane;
  let a: Backend;
  let b: Backend;
  let vport: number;

  beforeEach(async () => {
    a = await nameBackend('A');
    b = await nameBackend('B');
    vport = await freePort();
    dp = createProxyDataplane({ engine: 'epoll', threads: 2, sweepIntervalMs: 50 });
    await dp.start();
  });

  afterEach(async () => {
    await dp.close(0);
    await a.close();
    await b.close();
  });

  it('spreads connections over both threads and counts each once', async () => {
    expect((await dp.info()).engine).toBe('epoll, 2 threads');
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: b.port }] }));
    const names: string[] = [];
    for (let i = 0; i < 120; i++) names.push(await nameFrom(vport, LOCAL));
    await until(() => dp.connectionCount() === 0, 5000, 'every connection to end');
    const threads = dp.engineThreads();
    expect(threads).toHaveLength(2);
    // The kernel hashes addresses and ports: 120 connections all in one thread would be a 2^-119 chance.
    expect(threads[0]!.accepted).toBeGreaterThan(0);
    expect(threads[1]!.accepted).toBeGreaterThan(0);
    expect(threads[0]!.accepted + threads[1]!.accepted).toBe(120);
    const [st] = await dp.status();
    expect(st!.counters.conns).toBe(120);
    expect(st!.dests.reduce((n, d) => n + d.counters.conns, 0)).toBe(120);
    // The threads share rr's position: one sequence, as one scheduler makes it (newest real server first).
    expect(names.join('')).toBe('BA'.repeat(60));
    expect(st!.dests.map((d) => d.counters.conns)).toEqual([60, 60]);
  });

  it('keeps wrr one sequence across the threads', async () => {
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
    const names: string[] = [];
    for (let i = 0; i < 40; i++) names.push(await nameFrom(vport, LOCAL));
    await until(() => dp.connectionCount() === 0, 5000, 'every connection to end');
    expect(Math.min(...dp.engineThreads().map((t) => t.accepted))).toBeGreaterThan(0);
    expect(names.join('')).toBe('AABA'.repeat(10));
  });

  it("counts every thread's connections for lc: a real server put back in service takes all new clients until level", async () => {
    const held: Client[] = [];
    try {
      const svc = (weightB: number) => table({ port: vport, scheduler: 'lc', dests: [{ port: a.port }, { port: b.port, weight: weightB }] });
      await dp.reconcile(svc(0));
      for (let i = 0; i < 16; i++) held.push(await dial(vport));
      expect(held.every((c) => c.name === 'A')).toBe(true);
      const threads = dp.engineThreads();
      // Both threads hold some of A's 16 (the kernel hashes ports; all in one would be a 2^-15 chance).
      expect(Math.min(threads[0]!.connections, threads[1]!.connections)).toBeGreaterThan(0);
      await dp.reconcile(svc(1));
      // Each thread sees A's 16, not just its own share: B gets every one of the next 16.
      for (let i = 0; i < 16; i++) held.push(await dial(vport));
      expect(held.slice(16).map((c) => c.name)).toEqual(Array(16).fill('B'));
      const [st] = await dp.status();
      expect(st!.dests.map((d) => d.activeConns)).toEqual([16, 16]);
    } finally {
      await Promise.all(held.map((c) => c.close()));
    }
  });

  it('applies an upper threshold to the connections of all threads together', async () => {
    const held: Client[] = [];
    try {
      await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port, upperThreshold: 3 }, { port: b.port }] }));
      for (let i = 0; i < 12; i++) held.push(await dial(vport));
      // Per thread, A would take 3 in each; together it stops at 3.
      expect(held.filter((c) => c.name === 'A')).toHaveLength(3);
      expect(Math.min(...dp.engineThreads().map((t) => t.connections))).toBeGreaterThan(0);
    } finally {
      await Promise.all(held.map((c) => c.close()));
    }
    await until(() => dp.connectionCount() === 0, 5000, 'every connection to end');
    // Below the threshold again: A takes new connections.
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push(await nameFrom(vport, LOCAL));
    expect(names).toContain('A');
  });

  it('keeps persistence exact: a client always reaches the thread, and so the real server, of its template', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'rr', persistence: { timeout: 300 }, dests: [{ port: a.port }, { port: b.port }] }));
    const sources = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);
    const seen = new Map<string, Set<string>>();
    for (let round = 0; round < 4; round++)
      for (const src of sources) {
        const name = await nameFrom(vport, src);
        seen.set(src, (seen.get(src) ?? new Set()).add(name));
      }
    for (const [src, names] of seen) expect([src, [...names]]).toEqual([src, [...names].slice(0, 1)]);
    // Where the kernel sent each client is where steerIndex says it goes.
    const expected = [0, 0];
    for (const src of sources) expected[steerIndex(src, 32, 2)]! += 4;
    await until(() => dp.connectionCount() === 0, 5000, 'every connection to end');
    expect(dp.engineThreads().map((t) => t.accepted)).toEqual(expected);
    const [st] = await dp.status();
    expect(st!.dests.reduce((n, d) => n + d.persistConns, 0)).toBe(12);
    const templates = (await dp.connections()).filter((c) => c.template);
    expect(templates).toHaveLength(12);
  });

  it('steers by the persistence netmask: a /24 goes to one thread and one real server', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'rr', persistence: { timeout: 300, netmask: 24 }, dests: [{ port: a.port }, { port: b.port }] }));
    const names = new Set<string>();
    for (let i = 2; i < 14; i++) names.add(await nameFrom(vport, `127.0.0.${i}`));
    expect(names.size).toBe(1);
    await until(() => dp.connectionCount() === 0, 5000, 'every connection to end');
    expect(
      dp
        .engineThreads()
        .map((t) => t.accepted)
        .sort(),
    ).toEqual([0, 12]);
  });

  it('installs a template learnt from the peer in the thread its client is steered to', async () => {
    const [entry] = table({ port: vport, scheduler: 'rr', persistence: { timeout: 300 }, dests: [{ port: a.port }, { port: b.port }] });
    await dp.reconcile([entry!]);
    const destA = realServerKey({ address: LOCAL, port: a.port });
    // rr would pick B first (the newest real server heads the list): the imported template must win.
    const clients = ['127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24'];
    dp.importPersistence(clients.map((client) => ({ service: entry!.key, client, dest: destA, expiresAt: Date.now() + 300_000 })));
    await until(async () => (await dp.exportPersistence()).length === 4, 3000, 'the templates to be installed');
    for (const c of clients) expect(await nameFrom(vport, c)).toBe('A');
    // Each template lives in one thread only: exported once, counted once.
    expect((await dp.exportPersistence()).map((p) => p.client).sort()).toEqual(clients);
    const [st] = await dp.status();
    expect(st!.dests.find((d) => d.key === destA)!.persistConns).toBe(4);
  });

  it('starts steering when a service becomes persistent, and stops listening in every thread when it is removed', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: b.port }] }));
    await nameFrom(vport, '127.0.0.2');
    await until(() => dp.connectionCount() === 0, 5000, 'the first connection to end');
    const before = dp.engineThreads().map((t) => t.accepted);
    await dp.reconcile(table({ port: vport, scheduler: 'rr', persistence: { timeout: 300 }, dests: [{ port: a.port }, { port: b.port }] }));
    const sources = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 30}`);
    for (let round = 0; round < 3; round++) for (const src of sources) await nameFrom(vport, src);
    await until(() => dp.connectionCount() === 0, 5000, 'every connection to end');
    const expected = [0, 0];
    for (const src of sources) expected[steerIndex(src, 32, 2)]! += 3;
    expect(dp.engineThreads().map((t, i) => t.accepted - before[i]!)).toEqual(expected);

    await dp.reconcile([]);
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect({ host: LOCAL, port: vport });
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('lists, re-times and zeroes the connections of both threads', async () => {
    await dp.reconcile(table({ port: vport, scheduler: 'rr', dests: [{ port: a.port }, { port: b.port }] }));
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 24; i++)
        held.push(
          await new Promise<Socket>((resolve, reject) => {
            const s = connect({ host: LOCAL, port: vport });
            s.once('data', () => resolve(s));
            s.once('error', reject);
          }),
        );
      const threads = dp.engineThreads();
      expect(threads.map((t) => t.connections).reduce((x, y) => x + y)).toBe(24);
      expect(Math.min(...threads.map((t) => t.connections))).toBeGreaterThan(0);
      const entries = (await dp.connections()).filter((c) => !c.template);
      expect(entries).toHaveLength(24);
      expect(entries.every((e) => e.state === 'ESTABLISHED' && e.expires > 800)).toBe(true);
      await dp.setTimeouts!({ tcp: 100, tcpfin: 0, udp: 0 });
      expect((await dp.connections()).every((e) => e.expires <= 100)).toBe(true);
      const [st] = await dp.status();
      expect(st!.counters.conns).toBe(24);
      expect(st!.dests.reduce((n, d) => n + d.activeConns, 0)).toBe(24);
      await dp.zero();
      const [zeroed] = await dp.status();
      expect(zeroed!.counters.conns).toBe(0);
      // Zeroing clears counters, not connections.
      expect(zeroed!.dests.reduce((n, d) => n + d.activeConns, 0)).toBe(24);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

describe('proxy dataplane: the threads option', () => {
  it.each([0, 1.5, 65, -1])('refuses threads: %s with a validation error naming it', async (threads) => {
    const dp = createProxyDataplane({ engine: 'epoll', threads });
    const err = await dp.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toMatch(/^threads: /);
    await dp.close(0);
  });
});

describe('steering program (SO_REUSEPORT group, classic BPF)', () => {
  /** Listen twice on [::1]:port with the program for `prefix`, connect `n` times, count accepts per listener. */
  async function acceptsPerListener(prefix: number | null, n: number): Promise<number[]> {
    const port = await freePort();
    const fds = [openTcpListener('::1', port, { reusePort: true }), openTcpListener('::1', port, { reusePort: true })];
    const calls = netCalls();
    try {
      attachReuseportProgram(fds[0]!, steeringProgram(6, prefix, 2));
      const socks = await Promise.all(
        Array.from(
          { length: n },
          () =>
            new Promise<Socket>((resolve, reject) => {
              const s = connect({ host: '::1', port }, () => resolve(s));
              s.on('error', reject);
            }),
        ),
      );
      const counts = fds.map((fd) => {
        let k = 0;
        for (;;) {
          const c = rawNetCalls().accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) return k;
          calls.close(c);
          k++;
        }
      });
      for (const s of socks) s.destroy();
      return counts;
    } finally {
      for (const fd of fds) calls.close(fd);
    }
  }

  it('sends every connection of an IPv6 client to the listener steerIndex names', async () => {
    const want = steerIndex('::1', 128, 2);
    const counts = await acceptsPerListener(128, 20);
    expect(counts[want]).toBe(20);
  });

  it('leaves services without persistence to the kernel hash (both listeners get some)', async () => {
    const counts = await acceptsPerListener(null, 60);
    expect(counts[0]! + counts[1]!).toBe(60);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('folds the masked IPv6 words as the program does', () => {
    // Words of 2001:db8:ab02:3:4:5:6:7 masked to /40: 0x20010db8, 0xab000000 (the /40 keeps one byte of word 1).
    const folded = (0x20010db8 ^ 0xab000000) >>> 0;
    expect(steerIndex('2001:db8:ab02:3:4:5:6:7', 40, 7)).toBe((Math.imul(folded, 0x9e3779b1) >>> 16) % 7);
    expect(steeringProgram(6, 40, 7).map((i) => i.code)).toEqual([0x20, 0x07, 0x20, 0x54, 0xac, 0x24, 0x74, 0x94, 0x16]);
    expect(steeringProgram(4, 0, 2)).toEqual([{ code: 0x06, jt: 0, jf: 0, k: 0 }]);
  });
});
