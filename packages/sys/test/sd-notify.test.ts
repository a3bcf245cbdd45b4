import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SyscallError } from '../src/errors.js';
import { createLogger } from '../src/logger.js';
import { createServiceNotifier } from '../src/sd-notify.js';
import { sendUnixDatagram, UnixDatagramReceiver, unixSockaddr } from '../src/unix-dgram.js';

const text = (b: Buffer) => b.toString('utf8');
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function receiver(kind: 'path' | 'abstract'): UnixDatagramReceiver {
  let path: string;
  if (kind === 'abstract') path = `@vsd-test-notify-${process.pid}-${Math.random().toString(36).slice(2)}`;
  else {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-notify-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    path = join(dir, 'notify.sock');
  }
  const r = new UnixDatagramReceiver(path);
  cleanups.push(() => r.close());
  return r;
}

function logLines() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => (lines.push(JSON.parse(s) as Record<string, unknown>), true) } as unknown as NodeJS.WritableStream;
  return { lines, logger: createLogger({ level: 'debug' }, stream) };
}

describe('sockaddr_un', () => {
  it('puts a file path with its NUL, an @abstract name after a NUL byte without one', () => {
    const p = unixSockaddr('/run/systemd/notify');
    expect(p.addr.readUInt16LE(0)).toBe(1);
    expect(p.len).toBe(2 + '/run/systemd/notify'.length + 1);
    expect(p.addr.subarray(2, p.len - 1).toString()).toBe('/run/systemd/notify');
    const a = unixSockaddr('@/org/freedesktop/systemd1/notify/123');
    expect(a.addr[2]).toBe(0);
    expect(a.len).toBe(3 + '/org/freedesktop/systemd1/notify/123'.length);
    expect(a.addr.subarray(3, a.len).toString()).toBe('/org/freedesktop/systemd1/notify/123');
    expect(() => unixSockaddr(`/${'x'.repeat(107)}`)).toThrow(RangeError);
  });
});

describe('service manager notifications (sd_notify)', () => {
  for (const kind of ['path', 'abstract'] as const) {
    it(`sends READY=1 with a status, RELOADING=1 with MONOTONIC_USEC and STOPPING=1 to a ${kind} socket`, async () => {
      const r = receiver(kind);
      const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: r.path };
      const n = createServiceNotifier({ env });
      expect(n.enabled).toBe(true);
      n.ready('ready: 2 virtual services');
      expect(text(await r.receive())).toBe('READY=1\nSTATUS=ready: 2 virtual services');
      const before = process.hrtime.bigint() / 1000n;
      n.reloading();
      const reload = text(await r.receive());
      expect(reload).toMatch(/^RELOADING=1\nMONOTONIC_USEC=\d+\nSTATUS=reloading the config file$/);
      const usec = BigInt(/MONOTONIC_USEC=(\d+)/.exec(reload)![1]!);
      expect(usec >= before && usec - before < 5_000_000n).toBe(true);
      n.ready('ready again');
      expect(text(await r.receive())).toBe('READY=1\nSTATUS=ready again');
      n.stopping();
      expect(text(await r.receive())).toBe('STOPPING=1\nSTATUS=stopping: draining connections');
      n.close();
    });
  }

  it('keeps a status on one line and removes NOTIFY_SOCKET and the watchdog variables from the environment', async () => {
    const r = receiver('path');
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: r.path, WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1', OTHER: 'x' };
    const n = createServiceNotifier({ env });
    expect(env).toEqual({ OTHER: 'x' });
    n.status('line one\nline two');
    expect(text(await r.receive())).toBe('STATUS=line one line two');
  });

  it('does nothing without NOTIFY_SOCKET', () => {
    const sent: Buffer[] = [];
    const n = createServiceNotifier({ env: {}, send: (_p, d) => void sent.push(d) });
    expect(n.enabled).toBe(false);
    n.ready('x');
    n.stopping();
    expect(sent).toEqual([]);
  });

  it('logs a socket that refuses once and does not throw', () => {
    const { lines, logger } = logLines();
    const n = createServiceNotifier({ env: { NOTIFY_SOCKET: join(tmpdir(), `vsd-no-such-${process.pid}.sock`) }, logger });
    n.ready('a');
    n.status('b');
    const warns = lines.filter((l) => l.msg === 'cannot notify the service manager (NOTIFY_SOCKET)');
    expect(warns).toHaveLength(1);
    const err = warns[0]!.err as { code: string; message: string; details: Record<string, unknown> };
    expect(err.code).toBe('VSD_ERR_SYSCALL');
    expect(err.message).toMatch(/^sendto \(path .*vsd-no-such-.*\.sock\): No such file or directory \(ENOENT\)$/);
    expect(err.details).toMatchObject({ syscall: 'sendto', errnoNumber: 2, errnoName: 'ENOENT', context: { path: expect.stringContaining('vsd-no-such-') } });
  });

  it('sends WATCHDOG=1 every half WATCHDOG_USEC once ready, only when WATCHDOG_PID is this process', () => {
    // On fake timers the period is exact: timed on a real clock, a late READY receive on a loaded host found both
    // watchdog datagrams already queued and measured less than one period between them.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const sent: string[] = [];
      const env = { NOTIFY_SOCKET: '/run/vsd-test/notify', WATCHDOG_USEC: '40000', WATCHDOG_PID: String(process.pid) };
      const n = createServiceNotifier({ env, send: (_p, d) => void sent.push(text(d)) });
      vi.advanceTimersByTime(100);
      expect(sent).toEqual([]); // not before READY=1
      n.ready('up');
      expect(sent).toEqual(['READY=1\nSTATUS=up']);
      vi.advanceTimersByTime(19);
      expect(sent).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(sent.slice(1)).toEqual(['WATCHDOG=1']);
      vi.advanceTimersByTime(20);
      expect(sent.slice(1)).toEqual(['WATCHDOG=1', 'WATCHDOG=1']);
      n.close();
      vi.advanceTimersByTime(100);
      expect(sent).toHaveLength(3);

      const other: string[] = [];
      const envOther = { NOTIFY_SOCKET: '/run/vsd-test/notify', WATCHDOG_USEC: '20000', WATCHDOG_PID: String(process.pid + 1) };
      const m = createServiceNotifier({ env: envOther, send: (_p, d) => void other.push(text(d)) });
      m.ready('up');
      vi.advanceTimersByTime(100);
      expect(other).toEqual(['READY=1\nSTATUS=up']);
      m.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('delivers WATCHDOG=1 to the socket', async () => {
    const r = receiver('path');
    const n = createServiceNotifier({ env: { NOTIFY_SOCKET: r.path, WATCHDOG_USEC: '40000', WATCHDOG_PID: String(process.pid) } });
    n.ready('up');
    expect(text(await r.receive())).toBe('READY=1\nSTATUS=up');
    expect(text(await r.receive(5000))).toBe('WATCHDOG=1');
    n.close();
  });

  it('delivers a datagram from sendUnixDatagram to an abstract-namespace receiver', async () => {
    const r = receiver('abstract');
    sendUnixDatagram(r.path, Buffer.from('READY=1'));
    expect(text(await r.receive())).toBe('READY=1');
  });

  it('rejects a receive that waits past its timeout with a SyscallError for recv with ETIMEDOUT', async () => {
    const r = receiver('path');
    const err = await r.receive(20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).toMatchObject({ code: 'VSD_ERR_SYSCALL', details: { syscall: 'recv', errnoName: 'ETIMEDOUT', context: { path: r.path, timeout: '20 ms' } } });
    expect((err as Error).message).toBe(`recv (path ${r.path}, timeout 20 ms): Connection timed out (ETIMEDOUT)`);
  });
});
