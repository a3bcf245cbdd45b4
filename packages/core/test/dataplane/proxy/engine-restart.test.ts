/** A dead epoll engine thread: its descriptors are closed by the main thread and a new thread takes its place. */
import { afterEach, describe, expect, it } from 'vitest';
import { EngineGroup } from '../../../src/dataplane/proxy/engine/group.js';
import { createLogger } from '../../../src/logger.js';
import { DEFAULT_TIMEOUTS } from '../../../src/model/constants.js';
import { dial, freePort, nameBackend, nameOf, table, until, type Backend } from './helpers.js';

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
