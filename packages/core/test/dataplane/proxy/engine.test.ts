/** Choosing the TCP engine: the epoll thread when it starts, Node sockets when `auto` finds it cannot. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { createLogger } from '@vsd/sys';
import { freePort, nameBackend, nameOf, table, type Backend } from './helpers.js';

function logLines(): { lines: Array<Record<string, unknown>>; stream: NodeJS.WritableStream } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => (lines.push(JSON.parse(s) as Record<string, unknown>), true) } as unknown as NodeJS.WritableStream;
  return { lines, stream };
}

describe('proxy dataplane: TCP engine selection', () => {
  let dp: ProxyDataplane | undefined;
  let backend: Backend | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vsd-engine-'));
  const broken = join(dir, 'broken-thread.mjs');
  writeFileSync(broken, "throw new Error('engine thread cannot start here');\n");

  afterEach(async () => {
    await dp?.close(0);
    dp = undefined;
    await backend?.close();
    backend = undefined;
  });

  it('auto: logs that the epoll engine runs and forwards through it', async () => {
    backend = await nameBackend('A');
    const { lines, stream } = logLines();
    dp = createProxyDataplane({ logger: createLogger({ level: 'info' }, stream) });
    await dp.start();
    const vport = await freePort();
    await dp.reconcile(table({ port: vport, dests: [{ port: backend.port }] }));
    expect(await nameOf(vport)).toBe('A');
    expect(lines.some((l) => l.msg === 'TCP forwarded by the epoll engine thread')).toBe(true);
    expect((await dp.info()).engine).toBe('epoll');
    // The engine's own records come through this logger too, marked with the engine.
    expect(lines.some((l) => l.msg === 'listening' && l.engine === 'epoll' && l.service === `tcp 127.0.0.1:${vport}`)).toBe(true);
  });

  it('auto: an engine thread that fails to start leaves TCP to Node sockets, with a warning', async () => {
    backend = await nameBackend('B');
    const { lines, stream } = logLines();
    dp = createProxyDataplane({ logger: createLogger({ level: 'info' }, stream), engineScript: broken });
    await dp.start();
    const vport = await freePort();
    await dp.reconcile(table({ port: vport, dests: [{ port: backend.port }] }));
    expect(await nameOf(vport)).toBe('B');
    expect((await dp.info()).engine).toBe('node');
    const warn = lines.find((l) => l.msg === 'TCP forwarded with Node sockets (the epoll engine thread did not start)');
    expect(warn).toBeDefined();
    expect(JSON.stringify(warn)).toContain('engine thread cannot start here');
  });

  it('epoll asked for explicitly: start() fails with the reason instead of falling back', async () => {
    dp = createProxyDataplane({ engine: 'epoll', engineScript: broken });
    await expect(dp.start()).rejects.toThrow(/engine thread cannot start here/);
    dp = undefined;
    rmSync(dir, { recursive: true, force: true });
  });
});
