/** A dead epoll engine thread: its descriptors are closed by the main thread and a new thread takes its place. */
import { afterEach, describe, expect, it } from 'vitest';
import { EngineGroup } from '../../../src/dataplane/proxy/epoll/group.js';
import { createLogger } from '@vsd/sys';
import { DEFAULT_TIMEOUTS } from '../../../src/model/constants.js';
import { dial, freePort, nameBackend, nameOf, table, until, type Backend, type Client } from './helpers.js';

function logLines(): { lines: Array<Record<string, unknown>>; stream: NodeJS.WritableStream } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => (lines.push(JSON.parse(s) as Record<string, unknown>), true) } as unknown as NodeJS.WritableStream;
  return { lines, stream };
}

function group(threads: number, stream: NodeJS.WritableStream): EngineGroup {
  return new EngineGroup(createLogger({ level: 'info' }, stream), {
    logLevel: 'info',
    timeouts: { ...DEFAULT_TIMEOUTS },
    connectTimeoutMs: 2000,
    expireQuiescentTemplate: false,
    bindFreely: false,
    sweepIntervalMs: 100,
    listenRetryMs: 100,
    threads,
  });
}

describe.each([1, 2])('epoll engine supervision (%i threads)', (threads) => {
  let g: EngineGroup | undefined;
  let backend: Backend | undefined;

  afterEach(async () => {
    await g?.stop(0);
    g = undefined;
    await backend?.close();
  });

  it('closes what a killed thread held, restarts it with the table, and forwards every connection again', async () => {
    backend = await nameBackend('A');
    const { lines, stream } = logLines();
    g = group(threads, stream);
    await g.start();
    const vport = await freePort();
    await g.reconcile(table({ port: vport, dests: [{ port: backend.port }] }), []);
    expect(await nameOf(vport)).toBe('A');
    // A connection held open through the thread that will die.
    const held = await dial(vport);
    const heldEnded = new Promise<void>((r) => held.socket.once('close', () => r()));
    held.socket.resume();
    held.socket.on('error', () => undefined);

    await g.kill(threads - 1);
    await until(() => lines.some((l) => l.msg === 'epoll engine thread restarted'), 10_000, 'the restart');
    expect(lines.some((l) => l.msg === 'proxy epoll engine thread failed' && l.engineThread === threads - 1)).toBe(true);
    expect(lines.some((l) => l.msg === 'closed the descriptors the engine thread left open')).toBe(true);
    // With one thread, the new listener could not bind had the dead one's stayed open; with two, a listener left in
    // the SO_REUSEPORT group would swallow about half of these connections.
    for (let i = 0; i < 40; i++) expect(await nameOf(vport)).toBe('A');
    const [status] = Object.values(await g.status([table({ port: vport, dests: [{ port: backend.port }] })[0]!.key]));
    expect(status!.counters.conns).toBeGreaterThanOrEqual(40);
    if (threads === 1) {
      // Its connection died with it: the client is told, not left hanging.
      await heldEnded;
    } else held.socket.destroy();
  });
});

describe('epoll engine supervision: shared connection counts', () => {
  it('forgets what a dead thread counted: lc levels a real server up to what the living threads hold', async () => {
    const a = await nameBackend('A');
    const b = await nameBackend('B');
    const { lines, stream } = logLines();
    const g = group(2, stream);
    await g.start();
    const held: Client[] = [];
    try {
      const vport = await freePort();
      const svc = (weightB: number) => table({ port: vport, scheduler: 'lc', dests: [{ port: a.port }, { port: b.port, weight: weightB }] });
      const key = svc(0)[0]!.key;
      await g.reconcile(svc(0), []);
      for (let i = 0; i < 12; i++) held.push(await dial(vport));
      const before = g.perThread();
      expect(Math.min(before[0]!.connections, before[1]!.connections)).toBeGreaterThan(0);
      await g.kill(0);
      await until(() => lines.some((l) => l.msg === 'epoll engine thread restarted'), 10_000, 'the restart');
      const alive = before[1]!.connections;
      await until(async () => (await g!.status([key]))[key]!.dests[0]!.activeConns === alive, 5000, 'A counted by thread 1 alone');
      await g.reconcile(svc(1), []);
      // A holds thread 1's connections only: B takes the next ones up to that many, not up to the 12 of before.
      const next: string[] = [];
      for (let i = 0; i < alive; i++) {
        const c = await dial(vport);
        held.push(c);
        next.push(c.name);
      }
      expect(next).toEqual(Array(alive).fill('B'));
    } finally {
      for (const c of held) c.socket.destroy();
      await g.stop(0);
      await a.close();
      await b.close();
    }
  });
});

describe('epoll engine supervision: a thread that keeps dying', () => {
  it('is restarted at most 5 times a minute, then left down and said so', async () => {
    const { lines, stream } = logLines();
    const g = group(1, stream);
    await g.start();
    try {
      for (let i = 0; i < 6; i++) {
        const restarted = lines.filter((l) => l.msg === 'epoll engine thread restarted').length;
        await g.kill(0);
        if (i < 5) await until(() => lines.filter((l) => l.msg === 'epoll engine thread restarted').length === restarted + 1, 10_000, `restart ${i + 1}`);
      }
      await until(() => lines.some((l) => l.msg === 'epoll engine thread keeps failing: not restarted, its share of TCP is not forwarded'), 5000, 'giving up');
      expect(lines.filter((l) => l.msg === 'epoll engine thread restarted')).toHaveLength(5);
    } finally {
      await g.stop(0);
    }
  });
});
