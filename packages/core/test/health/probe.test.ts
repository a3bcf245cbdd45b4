/**
 * The probe thread itself (start, stop, schedules, deadlines, many probes in one slot) and how the monitor picks
 * it or falls back to Node sockets. Needs `pnpm build` (the thread runs the compiled dist).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/health/checker.js';
import { ProbeThread, probeThreadUnavailable, type ProbeSink } from '../../src/health/probe/client.js';
import type { ProbeDef, ProbeSchedule } from '../../src/health/probe/protocol.js';
import { silentLogger } from '@vsd/sys';
import { closedPort, startBlackhole, startHttpBackend, waitFor, type HttpBackend } from './backends.js';
import { fast, makeLab } from './harness.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function thread(): ProbeThread {
  const t = new ProbeThread(silentLogger);
  t.start();
  cleanup.push(() => t.stop());
  return t;
}

async function backends(n: number): Promise<HttpBackend[]> {
  const bs = await Promise.all(Array.from({ length: n }, () => startHttpBackend()));
  cleanup.push(() => Promise.all(bs.map((b) => b.close())).then(() => undefined));
  return bs;
}

const tcp = (port: number, timeoutMs = 1000): ProbeDef => ({ kind: 'tcp', address: '127.0.0.1', port, timeoutMs });
const http = (port: number): ProbeDef => ({
  kind: 'http',
  address: '127.0.0.1',
  port,
  timeoutMs: 1000,
  request: 'GET / HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n',
  statusCodes: [[200, 299]],
});
const schedule = (o: Partial<ProbeSchedule> = {}): ProbeSchedule => ({
  intervalMs: 1000,
  delayBeforeRetryMs: 1000,
  slotMs: 0,
  firstAt: Date.now(),
  state: { rise: 1, fall: 1, retry: 0, up: true, retryIt: 0, okStreak: 0, failStreak: 0 },
  ...o,
});

interface Got extends CheckResult {
  at: number;
  durationMs: number;
}
function collector(): { sink: ProbeSink; got: Got[]; lost: () => boolean } {
  const got: Got[] = [];
  let lost = false;
  return { got, lost: () => lost, sink: { result: (r, at, durationMs) => got.push({ ...r, at, durationMs }), lost: () => void (lost = true) } };
}

describe('probe thread', () => {
  it('is available here (Linux, koffi, built dist)', () => {
    expect(probeThreadUnavailable()).toBeNull();
    expect(probeThreadUnavailable('/nonexistent/thread.js')).toBe('no probe thread at /nonexistent/thread.js');
  });

  it('starts, runs one-off probes, and ends on stop; afterwards it takes no more probes', async () => {
    const [up] = await backends(1);
    const t = new ProbeThread(silentLogger);
    t.start();
    expect(t.running).toBe(true);
    expect(await t.once(tcp(up!.port))).toEqual({ ok: true, reason: 'connected' });
    expect(await t.once(http(up!.port))).toEqual({ ok: true, reason: 'status 200' });
    expect(await t.once(tcp(await closedPort()))).toEqual({ ok: false, reason: 'ECONNREFUSED' });
    await t.stop();
    expect(t.running).toBe(false);
    expect(t.failed).toBe(true);
    expect(t.add(tcp(up!.port), schedule(), collector().sink)).toBeNull();
    expect(await t.once(tcp(up!.port))).toEqual({ ok: false, reason: 'probe thread not running' });
  });

  it('probes IPv6 targets', async () => {
    const { createServer } = await import('node:net');
    const conns = new Set<import('node:net').Socket>();
    // The request is read, as a real server does. A connection the probe reset right after the answer sometimes
    // stays open on this side (Node saw the data, never the RST: getpeername already fails): close waits for none.
    const server = createServer((sock) => {
      conns.add(sock.on('close', () => conns.delete(sock)));
      sock
        .on('error', () => undefined)
        .resume()
        .end('HTTP/1.0 200 OK\r\n\r\n');
    });
    await new Promise<void>((r) => server.listen(0, '::1', r));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          for (const c of conns) c.destroy();
        }),
    );
    const port = (server.address() as { port: number }).port;
    const t = thread();
    expect(await t.once({ ...tcp(port), address: '::1' })).toEqual({ ok: true, reason: 'connected' });
    expect(await t.once({ ...http(port), address: '::1' })).toEqual({ ok: true, reason: 'status 200' });
  });

  it('waits for a handshake that completes late (a listener whose accept queue was full), TCP and HTTP', async () => {
    // A listener in a child process that stops its event loop for 400 ms with a full one-slot accept queue: the
    // probes' SYNs are dropped until it accepts again and the kernel retransmits them (about a second later).
    const { spawn } = await import('node:child_process');
    const { connect } = await import('node:net');
    const code = `const s=require('http').createServer((q,r)=>r.end('late')).listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n')});process.stdin.once('data',()=>{Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,400)})`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'pipe', 'ignore'] });
    cleanup.push(() => void child.kill('SIGKILL'));
    const port = await new Promise<number>((r) => child.stdout!.once('data', (d: Buffer) => r(Number(String(d).trim()))));
    const t = thread();
    await t.once(tcp(port)); // the thread is up
    child.stdin!.write('block\n');
    await new Promise((r) => setTimeout(r, 50));
    const fillers = Array.from({ length: 4 }, () => connect({ host: '127.0.0.1', port }).on('error', () => undefined));
    cleanup.push(() => fillers.forEach((f) => f.destroy()));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const [a, b] = await Promise.all([t.once(tcp(port, 5000)), t.once({ ...http(port), timeoutMs: 5000 })]);
    expect(a).toEqual({ ok: true, reason: 'connected' });
    expect(b).toEqual({ ok: true, reason: 'status 200' });
    // Not at once: the connects completed on a retransmitted SYN, reported by epoll.
    expect(Date.now() - t0).toBeGreaterThan(200);
  });

  it('fails a probe at its deadline (connect never completes)', async () => {
    const hole = await startBlackhole();
    cleanup.push(() => hole.close());
    const t = thread();
    const c = collector();
    t.add(tcp(hole.port, 120), schedule({ intervalMs: 60_000 }), c.sink);
    await waitFor(() => c.got.length === 1, 5000, 'the timeout');
    expect(c.got[0]).toMatchObject({ ok: false, reason: 'timeout after 120 ms' });
    expect(c.got[0]!.durationMs).toBeGreaterThanOrEqual(119);
    expect(c.got[0]!.durationMs).toBeLessThan(2000);
  });

  it('runs a scheduled probe every interval, retries after delay_before_retry, and stops when removed', async () => {
    const port = await closedPort();
    const t = thread();
    await t.once(tcp(port)); // the thread is up: its start-up does not delay the first run
    const c = collector();
    // Up with one retry: fail, retry 40 ms later, then (counted failure, now down) every interval.
    const id = t.add(
      tcp(port),
      schedule({ intervalMs: 300, delayBeforeRetryMs: 40, state: { rise: 1, fall: 1, retry: 1, up: true, retryIt: 0, okStreak: 0, failStreak: 0 } }),
      c.sink,
    )!;
    await waitFor(() => c.got.length >= 3, 5000, 'three results');
    // Runs are due a delay after the previous one was due (a run that starts late does not push the next ones back):
    // the retry comes soon, the next check an interval later; loose bounds for a loaded machine.
    const starts = c.got.map((g) => g.at - g.durationMs);
    const gaps = starts.slice(1, 3).map((s, i) => s - starts[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(10);
    expect(gaps[0]).toBeLessThan(200);
    expect(gaps[1]).toBeGreaterThanOrEqual(200);
    t.remove(id);
    const n = c.got.length;
    await new Promise((r) => setTimeout(r, 700));
    expect(c.got.length).toBe(n);
  });

  it('checks many real servers due in the same slot, each once per interval', async () => {
    const bs = await backends(120);
    const t = thread();
    const c = collector();
    const byPort = new Map<number, number>();
    const firstAt = Date.now() + 50;
    bs.forEach((b, i) => {
      const sink: ProbeSink = {
        result: (r, at, d) => {
          byPort.set(b.port, (byPort.get(b.port) ?? 0) + 1);
          c.sink.result(r, at, d);
        },
        lost: c.sink.lost,
      };
      t.add(i % 2 ? http(b.port) : tcp(b.port), schedule({ intervalMs: 400, slotMs: 50, firstAt }), sink);
    });
    await waitFor(() => byPort.size === 120 && [...byPort.values()].every((n) => n >= 2), 10_000, 'two rounds');
    expect(c.got.every((g) => g.ok)).toBe(true);
    expect(new Set(c.got.map((g) => g.reason))).toEqual(new Set(['connected', 'status 200']));
    // All 120 started in the one slot: the first round ended within an interval (loose: a loaded machine is slow).
    const first = c.got.slice(0, 120).map((g) => g.at);
    expect(Math.max(...first) - Math.min(...first)).toBeLessThan(400);
  });
});

describe('health monitor: engine selection and fallback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsd-health-probe-'));

  async function downAndBack(l: ReturnType<typeof makeLab>, b: HttpBackend): Promise<void> {
    l.monitor.start();
    cleanup.push(() => l.monitor.stop());
    await waitFor(() => l.rs(b.port).checkers[0]!.checks >= 1, 8000, 'a check');
    await b.set('down');
    await waitFor(() => l.rs(b.port).state === 'down', 8000, 'down');
    // The check in flight when the listener closed has its connection destroyed (ECONNRESET) and may be the one that
    // takes the real server down when the loop is slow; every later check against the closed port is refused.
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(l.rs(b.port).reason);
    await waitFor(() => l.rs(b.port).checkers[0]!.last?.reason === 'ECONNREFUSED', 8000, 'a refused check');
    await b.set('up');
    await waitFor(() => l.rs(b.port).state === 'up', 8000, 'up');
  }

  it("runs TCP and HTTP checks in the probe thread by default ('auto')", async () => {
    const [b] = await backends(1);
    const l = makeLab([{ port: b!.port, checks: [{ tcp_check: {}, ...fast }] }], { delay_loop: 0.05 });
    await downAndBack(l, b!);
    expect(l.logs().some((x) => x.msg === 'TCP and HTTP checks run in the probe thread')).toBe(true);
  });

  it("uses Node sockets with engine 'node'", async () => {
    const [b] = await backends(1);
    const l = makeLab([{ port: b!.port, checks: [{ http_get: { path: '/' }, ...fast }] }], { delay_loop: 0.05 }, 'node');
    await downAndBack(l, b!);
    expect(l.logs().some((x) => x.msg === 'TCP and HTTP checks run in the probe thread')).toBe(false);
  });

  it("falls back to Node sockets when the thread is unavailable ('auto'), and refuses to start with engine 'epoll'", async () => {
    const [b] = await backends(1);
    const missing = join(dir, 'missing.js');
    const l = makeLab([{ port: b!.port, checks: [{ tcp_check: {}, ...fast }] }], { delay_loop: 0.05 }, 'auto', { probeScript: missing });
    await downAndBack(l, b!);
    expect(l.logs().find((x) => x.msg === 'TCP and HTTP checks run with Node sockets (the probe thread is unavailable)')).toMatchObject({
      reason: `no probe thread at ${missing}`,
    });
    const strict = makeLab([{ port: b!.port, checks: [{ tcp_check: {}, ...fast }] }], {}, 'epoll', { probeScript: missing });
    expect(() => strict.monitor.start()).toThrow(
      expect.objectContaining({ code: 'VSD_ERR_ENGINE_UNAVAILABLE', message: `health_engine epoll: no probe thread at ${missing}` }),
    );
  });

  it('carries on with Node sockets when the thread dies', async () => {
    const broken = join(dir, 'broken.js');
    writeFileSync(broken, "throw new Error('probe thread broken on purpose');\n");
    const [b] = await backends(1);
    const l = makeLab([{ port: b!.port, checks: [{ tcp_check: {}, ...fast }] }], { delay_loop: 0.05 }, 'auto', { probeScript: broken });
    await downAndBack(l, b!);
    expect(l.logs().find((x) => x.msg === 'health probe thread failed; TCP and HTTP checks go on with Node sockets')).toBeDefined();
  });
});
