import { describe, expect, it } from 'vitest';
import { SOCK_CLOEXEC, SOCK_NONBLOCK } from '../src/constants.js';
import { FdWatcher } from '../src/fd-watcher.js';
import { libc } from '../src/libc.js';

describe('FdWatcher (poll on the libuv pool)', () => {
  it('reports readability without blocking the event loop, and close() returns at once', async () => {
    const fds = new Int32Array(2);
    expect(libc().pipe2(fds, SOCK_NONBLOCK | SOCK_CLOEXEC)).toBe(0);
    const [r, w] = [fds[0], fds[1]];
    const got: number[] = [];
    const buf = Buffer.alloc(16);
    let wake: () => void = () => {};
    const watcher = new FdWatcher(r, () => {
      const n = Number(libc().read(r, buf, buf.length));
      if (n > 0) got.push(...buf.subarray(0, n));
      wake();
    });
    watcher.start();
    // The loop stays free while the poll (timeout -1) is pending: a blocked loop would never run this timer.
    // Bounds are loose on purpose: a loaded CI host delays timers, but a blocked loop or lost wake-up hangs.
    const t0 = performance.now();
    await new Promise((res) => setTimeout(res, 20));
    expect(performance.now() - t0).toBeLessThan(5000);
    for (const byte of [1, 2, 3]) {
      const seen = new Promise<void>((res) => (wake = res));
      libc().write(w, Buffer.from([byte]), 1);
      await seen;
    }
    expect(got).toEqual([1, 2, 3]);
    const c0 = performance.now();
    await watcher.close();
    expect(performance.now() - c0).toBeLessThan(2000);
    libc().close(r);
    libc().close(w);
  });
});
