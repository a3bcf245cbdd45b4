import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HEALTH_SOURCE } from '../../src/health/constants.js';
import { healthRoutes } from '../../src/health/routes.js';
import { firstCheckDelay } from '../../src/health/monitor.js';
import { startHttpBackend, waitFor, sleep, type HttpBackend } from './backends.js';
import { ENGINES, type Engine } from './engines.js';
import { fast, makeLab, type Lab } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-health-monitor-'));
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function backends(n: number): Promise<HttpBackend[]> {
  const bs = await Promise.all(Array.from({ length: n }, () => startHttpBackend()));
  cleanup.push(() => Promise.all(bs.map((b) => b.close())).then(() => undefined));
  return bs;
}

/**
 * The engine the labs of the running describe block use: blocks whose checks probe real sockets run once per
 * engine (probe thread, Node sockets) and set it in their beforeAll (tests of a file run one after another).
 */
let engine: Engine = 'auto';
const onEngine = (e: Engine): void => beforeAll(() => void (engine = e));

function lab(defs: Parameters<typeof makeLab>[0], options?: Parameters<typeof makeLab>[1]): Lab {
  const l = makeLab(defs, options, engine);
  cleanup.push(() => l.monitor.stop());
  return l;
}

const http = (extra: Record<string, unknown> = {}) => ({ http_get: { path: '/' }, ...fast, ...extra });
const tcp = (extra: Record<string, unknown> = {}) => ({ tcp_check: {}, ...fast, ...extra });
const key = (b: HttpBackend): string => `127.0.0.1:${b.port}`;

describe.each(ENGINES)('health monitor (engine: $engine): failure and recovery', ({ engine: e }) => {
  onEngine(e);
  it('removes a real server that goes down and reintegrates it when it comes back, logging each transition', async () => {
    const [a, b] = await backends(2);
    const l = lab(
      [
        { port: a!.port, weight: 2, checks: [http()] },
        { port: b!.port, weight: 3, checks: [tcp()] },
      ],
      { delay_loop: 0.05 },
    );
    l.monitor.start();
    expect(l.table()).toEqual({ [key(a!)]: 2, [key(b!)]: 3 });

    await b!.set('down');
    await waitFor(() => l.rs(b!.port).state === 'down', 8000, 'b down');
    expect(l.table()).toEqual({ [key(a!)]: 2 });
    expect(l.overlay.view(l.spec.key, key(b!))).toMatchObject({ removed: true, factor: 0 });

    await b!.set('up');
    await waitFor(() => l.rs(b!.port).state === 'up', 8000, 'b up');
    expect(l.table()).toEqual({ [key(a!)]: 2, [key(b!)]: 3 });
    expect(l.overlay.view(l.spec.key, key(b!)).sources[HEALTH_SOURCE]).toBeUndefined();

    const st = l.rs(b!.port);
    expect(st).toMatchObject({ transitions: 2, weight: 3, healthWeight: 3, state: 'up' });
    expect(st.failures).toBeGreaterThanOrEqual(1);
    expect(l.rs(a!.port)).toMatchObject({ transitions: 0, failures: 0 });

    const down = l.logs().find((x) => x.msg === 'removing real server');
    expect(down).toMatchObject({ component: 'health', service: 'tcp 10.99.0.1:80', realServer: key(b!), checker: `tcp ${key(b!)}`, reason: 'ECONNREFUSED' });
    const up = l.logs().find((x) => x.msg === 'adding real server');
    expect(up).toMatchObject({ service: 'tcp 10.99.0.1:80', realServer: key(b!), checker: `tcp ${key(b!)}`, reason: 'connected' });
  });

  it('with inhibit_on_failure keeps the failed real server at weight 0 instead of removing it', async () => {
    const [a, b] = await backends(2);
    const l = lab(
      [
        { port: a!.port, checks: [http()] },
        { port: b!.port, weight: 5, checks: [http()] },
      ],
      { delay_loop: 0.05, inhibit_on_failure: true },
    );
    l.monitor.start();
    await b!.set('down');
    await waitFor(() => l.rs(b!.port).state === 'down', 8000, 'b down');
    expect(l.table()).toEqual({ [key(a!)]: 1, [key(b!)]: 0 });
    expect(l.logs().find((x) => x.msg === 'disabling real server (weight 0)')).toMatchObject({ realServer: key(b!), inhibit: true });
    await b!.set('up');
    await waitFor(() => l.rs(b!.port).state === 'up', 8000, 'b up');
    expect(l.table()).toEqual({ [key(a!)]: 1, [key(b!)]: 5 });
    // The operator's weight was never touched.
    expect(l.service.realServers[1]!.weight).toBe(5);
  });

  it("honours a real server's own inhibit_on_failure over the virtual server's", async () => {
    const [a, b] = await backends(2);
    const l = lab(
      [
        { port: a!.port, checks: [tcp()] },
        { port: b!.port, weight: 4, checks: [tcp()] },
      ],
      { delay_loop: 0.05 },
    );
    l.monitor.configure([{ ...l.spec, realServers: [l.spec.realServers[0]!, { ...l.spec.realServers[1]!, inhibitOnFailure: true }] }]);
    l.monitor.start();
    await a!.set('down');
    await b!.set('down');
    await waitFor(() => l.rs(a!.port).state === 'down' && l.rs(b!.port).state === 'down', 8000, 'both down');
    expect(l.table()).toEqual({ [key(b!)]: 0 });
  });

  it('takes down a server that accepts but never answers (timeout), one that answers a wrong status, and one with a wrong body', async () => {
    const [hang, wrong, body] = await backends(3);
    const digest = createHash('md5').update('hello\n').digest('hex');
    const l = lab(
      [
        { port: hang!.port, checks: [http({ connect_timeout: 0.15 })] },
        { port: wrong!.port, checks: [http()] },
        { port: body!.port, checks: [{ ...http(), http_get: { path: '/', digest } }] },
      ],
      { delay_loop: 0.05, quorum: 0 },
    );
    l.monitor.start();
    await sleep(150);
    expect(Object.keys(l.table())).toHaveLength(3);
    await hang!.set('hang');
    wrong!.status = 500;
    body!.body = 'changed\n';
    await waitFor(() => l.monitor.status().services[0]!.realServers.every((r) => r.state === 'down'), 8000, 'all down');
    expect(l.rs(hang!.port).reason).toBe('timeout after 150 ms');
    expect(l.rs(wrong!.port).reason).toBe('status 500 not in 200-299');
    expect(l.rs(body!.port).reason).toBe(`digest ${createHash('md5').update('changed\n').digest('hex')} differs from ${digest}`);
    expect(l.table()).toEqual({});
    await hang!.set('up');
    wrong!.status = 204;
    body!.body = 'hello\n';
    await waitFor(() => l.monitor.status().services[0]!.realServers.every((r) => r.state === 'up'), 8000, 'all up');
    expect(Object.keys(l.table())).toHaveLength(3);
  });

  it('retries before declaring a failure: a failure shorter than retry x delay_before_retry changes nothing', async () => {
    const [a] = await backends(1);
    const l = lab([{ port: a!.port, checks: [http({ retry: 3, delay_before_retry: 0.1 })] }], { delay_loop: 0.05 });
    l.monitor.start();
    await waitFor(() => l.rs(a!.port).checkers[0]!.checks >= 1, 8000, 'first check');
    await a!.set('down');
    await waitFor(() => l.rs(a!.port).checkers[0]!.retrying >= 1, 8000, 'a retry');
    await a!.set('up');
    await waitFor(() => l.rs(a!.port).checkers[0]!.retrying === 0, 8000, 'retries reset');
    expect(l.rs(a!.port)).toMatchObject({ state: 'up', transitions: 0 });
    expect(l.rs(a!.port).failures).toBeGreaterThanOrEqual(1);
  });
});

describe.each(ENGINES)('health monitor (engine: $engine): rise and fall', ({ engine: e }) => {
  onEngine(e);
  it('ignores flaps shorter than fall while up, and shorter than rise while down', async () => {
    const [a] = await backends(1);
    const l = lab([{ port: a!.port, checks: [tcp({ rise: 3, fall: 3, delay_loop: 0.1 })] }]);
    l.monitor.start();
    await waitFor(() => l.rs(a!.port).checkers[0]!.checks >= 1, 8000, 'first check');

    // Down for one failed check (fall is 3): no transition.
    await a!.set('down');
    await waitFor(() => l.rs(a!.port).failures >= 1, 8000, 'a failure');
    await a!.set('up');
    await waitFor(() => l.rs(a!.port).checkers[0]!.consecutiveOk >= 2, 8000, 'back to ok');
    expect(l.rs(a!.port)).toMatchObject({ state: 'up', transitions: 0 });

    // A real failure: three in a row.
    await a!.set('down');
    await waitFor(() => l.rs(a!.port).state === 'down', 8000, 'down');
    expect(l.rs(a!.port).failures).toBeGreaterThanOrEqual(3);

    // Up for one successful check (rise is 3): still down.
    await a!.set('up');
    await waitFor(() => l.rs(a!.port).checkers[0]!.consecutiveOk >= 1, 8000, 'a success');
    await a!.set('down');
    await waitFor(() => l.rs(a!.port).checkers[0]!.consecutiveFail >= 2, 8000, 'failing again');
    expect(l.rs(a!.port)).toMatchObject({ state: 'down', transitions: 1 });

    await a!.set('up');
    await waitFor(() => l.rs(a!.port).state === 'up', 8000, 'up');
    expect(l.rs(a!.port).checkers[0]!.consecutiveOk).toBeGreaterThanOrEqual(3);
    expect(l.rs(a!.port).transitions).toBe(2);
  });

  it('needs every checker of a real server up', async () => {
    const [a, status] = await backends(2);
    // The second check goes to another port (connect_port) and its status decides.
    const l2 = lab([{ port: a!.port, checks: [tcp(), { http_get: { path: '/', status_code: 200, connect_port: status!.port }, ...fast }] }], {
      delay_loop: 0.05,
    });
    l2.monitor.start();
    await sleep(120);
    expect(l2.rs(a!.port).state).toBe('up');
    status!.status = 404;
    await waitFor(() => l2.rs(a!.port).state === 'down', 8000, 'down by the http checker');
    expect(l2.rs(a!.port).checker).toBe(`http 127.0.0.1:${status!.port}/`);
    expect(l2.rs(a!.port).checkers.map((c) => c.state)).toEqual(['up', 'down']);
  });
});

describe.each(ENGINES)('health monitor (engine: $engine): quorum and sorry server', ({ engine: e }) => {
  onEngine(e);
  it('switches to the sorry server when quorum is lost and back when it is gained, running quorum_up/quorum_down', async () => {
    const bs = await backends(3);
    const upMark = join(dir, `${engine}-quorum.up`);
    const downMark = join(dir, `${engine}-quorum.down`);
    const l = lab(
      bs.map((b) => ({ port: b.port, checks: [tcp()] })),
      { delay_loop: 0.05, quorum: 2, sorry_server: '127.0.0.1:9', quorum_up: `touch ${upMark}`, quorum_down: `touch ${downMark}` },
    );
    l.monitor.start();
    expect(l.monitor.status().services[0]!.quorum).toEqual({ up: true, weightSum: 3, quorum: 2, hysteresis: 0 });

    await bs[0]!.set('down');
    await waitFor(() => l.rs(bs[0]!.port).state === 'down', 8000, 'one down');
    expect(Object.keys(l.table())).toEqual([key(bs[1]!), key(bs[2]!)]);

    await bs[1]!.set('down');
    await waitFor(() => !l.monitor.status().services[0]!.quorum.up, 8000, 'quorum lost');
    expect(l.table()).toEqual({ 'sorry 127.0.0.1:9': 1 });
    expect(l.monitor.status().services[0]!.sorryServer).toBe('127.0.0.1:9');
    expect(l.logs().find((x) => x.msg === 'lost quorum')).toMatchObject({ service: 'tcp 10.99.0.1:80', weightSum: 1, quorum: 2 });
    await waitFor(() => existsSync(downMark), 8000, 'quorum_down ran');
    expect(existsSync(upMark)).toBe(false);

    await bs[0]!.set('up');
    await waitFor(() => l.monitor.status().services[0]!.quorum.up, 8000, 'quorum gained');
    expect(l.table()).toEqual({ [key(bs[0]!)]: 1, [key(bs[2]!)]: 1 });
    expect(l.monitor.status().services[0]!.sorryServer).toBeNull();
    await waitFor(() => existsSync(upMark), 8000, 'quorum_up ran');
  });

  it('applies hysteresis: lost below quorum - hysteresis, gained at quorum + hysteresis', async () => {
    const bs = await backends(4);
    const l = lab(
      bs.map((b) => ({ port: b.port, checks: [tcp()] })),
      { delay_loop: 0.05, quorum: 2, hysteresis: 1, sorry_server: '127.0.0.1:9' },
    );
    l.monitor.start();
    const q = () => l.monitor.status().services[0]!.quorum;
    const downTo = async (n: number) =>
      waitFor(() => l.monitor.status().services[0]!.realServers.filter((r) => r.state === 'up').length === n, 3000, `${n} up`);

    await bs[0]!.set('down');
    await bs[1]!.set('down');
    await downTo(2);
    await bs[2]!.set('down');
    await downTo(1);
    expect(q()).toMatchObject({ up: true, weightSum: 1 }); // 1 is not < 2 - 1
    await bs[3]!.set('down');
    await downTo(0);
    expect(q()).toMatchObject({ up: false, weightSum: 0 });
    expect(Object.keys(l.table())).toEqual(['sorry 127.0.0.1:9']);

    await bs[0]!.set('up');
    await bs[1]!.set('up');
    await downTo(2);
    expect(q()).toMatchObject({ up: false, weightSum: 2 }); // 2 is not >= 2 + 1
    expect(Object.keys(l.table())).toEqual(['sorry 127.0.0.1:9']);
    await bs[2]!.set('up');
    await downTo(3);
    expect(q()).toMatchObject({ up: true, weightSum: 3 });
    expect(Object.keys(l.table())).toHaveLength(3);
  });

  it('counts configured weights, not servers', async () => {
    const [heavy, light] = await backends(2);
    const l = lab(
      [
        { port: heavy!.port, weight: 10, checks: [tcp()] },
        { port: light!.port, weight: 1, checks: [tcp()] },
      ],
      {
        delay_loop: 0.05,
        quorum: 5,
        sorry_server: '127.0.0.1:9',
      },
    );
    l.monitor.start();
    await heavy!.set('down');
    await waitFor(() => !l.monitor.status().services[0]!.quorum.up, 8000, 'quorum lost');
    expect(l.monitor.status().services[0]!.quorum.weightSum).toBe(1);
  });
});

describe.each(ENGINES)('health monitor (engine: $engine): alpha and omega', ({ engine: e }) => {
  onEngine(e);
  it('without alpha starts real servers up; with alpha starts them down until their first success', async () => {
    const [a, dead] = await backends(2);
    await dead!.set('down');
    const plain = lab(
      [
        { port: a!.port, checks: [tcp()] },
        { port: dead!.port, checks: [tcp()] },
      ],
      { delay_loop: 0.05 },
    );
    expect(Object.keys(plain.table())).toHaveLength(2);

    const alpha = lab(
      [
        { port: a!.port, checks: [tcp()] },
        { port: dead!.port, checks: [tcp()] },
      ],
      { delay_loop: 0.05, alpha: true, sorry_server: '127.0.0.1:9' },
    );
    // Before any check: everything down, quorum lost, the sorry server in place.
    expect(alpha.table()).toEqual({ 'sorry 127.0.0.1:9': 1 });
    expect(alpha.rs(a!.port)).toMatchObject({ state: 'down', reason: 'alpha: down until the first successful check' });
    alpha.monitor.start();
    await waitFor(() => alpha.rs(a!.port).state === 'up', 8000, 'a up');
    expect(alpha.table()).toEqual({ [key(a!)]: 1 });
    expect(alpha.rs(dead!.port)).toMatchObject({ state: 'down', transitions: 0 });
  });

  it('with omega, stop() runs quorum_down and clears the health overlay and the sorry server', async () => {
    const [a, b] = await backends(2);
    const mark = join(dir, `${engine}-omega.down`);
    const l = makeLab(
      [
        { port: a!.port, checks: [tcp()] },
        { port: b!.port, checks: [tcp()] },
      ],
      { delay_loop: 0.05, omega: true, quorum_down: `touch ${mark}` },
      engine,
    );
    l.monitor.start();
    await b!.set('down');
    await waitFor(() => l.rs(b!.port).state === 'down', 8000, 'b down');
    expect(Object.keys(l.table())).toEqual([key(a!)]);
    await l.monitor.stop();
    expect(existsSync(mark)).toBe(true);
    expect(Object.keys(l.table())).toEqual([key(a!), key(b!)]);
    expect(l.overlay.view(l.spec.key, key(b!)).sources).toEqual({});
    expect(l.logs().some((x) => x.msg === 'removing real server' && x.reason === 'shutdown (omega)')).toBe(true);
  });

  it('without omega, stop() leaves the last health view in place and runs no script', async () => {
    const [a, b] = await backends(2);
    const mark = join(dir, `${engine}-no-omega.down`);
    const l = makeLab(
      [
        { port: a!.port, checks: [tcp()] },
        { port: b!.port, checks: [tcp()] },
      ],
      { delay_loop: 0.05, quorum_down: `touch ${mark}` },
      engine,
    );
    l.monitor.start();
    await b!.set('down');
    await waitFor(() => l.rs(b!.port).state === 'down', 8000, 'b down');
    await l.monitor.stop();
    const checks = l.rs(a!.port).checkers[0]!.checks;
    await sleep(150);
    expect(l.rs(a!.port).checkers[0]!.checks).toBe(checks);
    expect(Object.keys(l.table())).toEqual([key(a!)]);
    expect(existsSync(mark)).toBe(false);
  });
});

describe('health monitor: script checks', () => {
  onEngine('auto');
  it('turns a misc_dynamic exit status into a weight (factor of the configured weight) and exit 1 into down', async () => {
    const state = join(dir, 'dyn.status');
    writeFileSync(state, '7');
    const script = join(dir, 'dyn.sh');
    writeFileSync(script, `#!/bin/sh\nexit $(cat ${state})\n`, { mode: 0o755 });
    const [a] = await backends(1);
    const l = lab([{ port: a!.port, weight: 10, checks: [{ misc_check: { misc_path: script, misc_dynamic: true, misc_timeout: 2 }, delay_loop: 0.05 }] }], {
      quorum: 3,
      sorry_server: '127.0.0.1:9',
    });
    l.monitor.start();
    await waitFor(() => l.table()[key(a!)] === 5, 8000, 'weight 5');
    expect(l.rs(a!.port)).toMatchObject({ state: 'up', weight: 10, healthWeight: 5 });
    expect(l.overlay.view(l.spec.key, key(a!)).sources[HEALTH_SOURCE]).toMatchObject({ factor: 0.5, reason: 'dynamic weight 5' });

    writeFileSync(state, '4'); // weight 2 < quorum 3
    await waitFor(() => !l.monitor.status().services[0]!.quorum.up, 8000, 'quorum lost');
    expect(l.table()).toEqual({ 'sorry 127.0.0.1:9': 1 });

    writeFileSync(state, '200'); // above the configured weight: capped at it
    await waitFor(() => l.table()[key(a!)] === 10, 8000, 'weight 10');

    writeFileSync(state, '1');
    await waitFor(() => l.rs(a!.port).state === 'down', 8000, 'down');
    expect(l.rs(a!.port).reason).toBe('exit 1');
    expect(readFileSync(state, 'utf8')).toBe('1');
  });

  it('fails a script that runs past misc_timeout', async () => {
    const script = join(dir, 'slow.sh');
    writeFileSync(script, '#!/bin/sh\nsleep 5\n', { mode: 0o755 });
    const [a] = await backends(1);
    const l = lab([{ port: a!.port, checks: [{ misc_check: { misc_path: script, misc_timeout: 0.1 }, delay_loop: 0.05 }] }]);
    l.monitor.start();
    await waitFor(() => l.rs(a!.port).state === 'down', 8000, 'down');
    expect(l.rs(a!.port)).toMatchObject({ reason: 'timeout after 100 ms', checker: `misc ${script}` });
  });
});

describe('health monitor: configuration and status', () => {
  onEngine('auto');
  it('reconfigures idempotently: unchanged checks keep their state, removed real servers and services leave no trace', async () => {
    const [a, b] = await backends(2);
    await b!.set('down');
    const l = lab(
      [
        { port: a!.port, checks: [tcp()] },
        { port: b!.port, checks: [tcp()] },
      ],
      { delay_loop: 0.05, sorry_server: '127.0.0.1:9', quorum: 2 },
    );
    l.monitor.start();
    await waitFor(() => l.rs(b!.port).state === 'down', 8000, 'b down');
    expect(Object.keys(l.table())).toEqual(['sorry 127.0.0.1:9']);
    const before = l.rs(a!.port).checkers[0]!.checks;

    l.monitor.configure([l.spec]);
    expect(l.rs(b!.port)).toMatchObject({ state: 'down', transitions: 1 });
    expect(l.rs(a!.port).checkers[0]!.checks).toBeGreaterThanOrEqual(before);

    // A new sorry server on reload replaces the one in place.
    l.monitor.configure([{ ...l.spec, sorryServer: { ...l.spec.sorryServer!, port: 10 } }]);
    expect(Object.keys(l.table())).toEqual(['sorry 127.0.0.1:10']);

    // Lower the quorum on reload: gained at once.
    l.monitor.configure([{ ...l.spec, quorum: 1 }]);
    expect(Object.keys(l.table())).toEqual([key(a!)]);

    // Drop b from the service: its health adjustment goes with it.
    l.monitor.configure([{ ...l.spec, quorum: 1, realServers: l.spec.realServers.slice(0, 1) }]);
    expect(l.overlay.view(l.spec.key, key(b!)).sources).toEqual({});
    expect(l.monitor.status().services[0]!.realServers.map((r) => r.key)).toEqual([key(a!)]);

    await bs_down(a!);
    await waitFor(() => l.overlay.sorryServer(l.spec.key) !== undefined, 8000, 'sorry again');
    l.monitor.configure([]);
    expect(l.overlay.sorryServer(l.spec.key)).toBeUndefined();
    expect(l.monitor.status()).toEqual({ services: [] });
  });

  it('spreads first checks over the interval instead of firing them together', async () => {
    // What is asserted is the schedule the monitor sets, not when requests reach a backend: on a starved host late
    // timers run together, so arrival times say little about the spread. Date is frozen on a slot boundary so the
    // rounding to 50 ms slots is exact; setTimeout is only observed, and the checks are stopped before any runs.
    vi.useFakeTimers({ toFake: ['Date'], now: 1_700_000_000_000 });
    const timers = vi.spyOn(globalThis, 'setTimeout');
    const defs = Array.from({ length: 20 }, (_, i) => ({ port: 20_000 + i, checks: [tcp()] }));
    const l = makeLab(defs, { delay_loop: 0.4 }, 'node');
    let delays: unknown[];
    try {
      l.monitor.start();
      delays = timers.mock.calls.map((c) => c[1]);
    } finally {
      timers.mockRestore();
      vi.useRealTimers();
      await l.monitor.stop();
    }
    const expected = Array.from({ length: 20 }, (_, i) => Math.ceil(firstCheckDelay(i, 400, undefined) / 50) * 50);
    expect(delays).toEqual(expected);
    // Each 50 ms slot of the interval gets some (rounded up to its end), none gets them all.
    expect([...new Set(expected)].sort((a, b) => a - b)).toEqual([0, 50, 100, 150, 200, 250, 300, 350, 400]);
  });

  it('computes first-check offsets that cover the interval evenly, or random up to warmup', () => {
    const offsets = Array.from({ length: 40 }, (_, i) => firstCheckDelay(i, 1000, undefined)).sort((a, b) => a - b);
    expect(offsets[0]).toBe(0);
    expect(offsets.at(-1)).toBeLessThan(1000);
    const gaps = offsets.slice(1).map((o, i) => o - offsets[i]!);
    expect(Math.max(...gaps)).toBeLessThan((1000 / 40) * 2);
    expect(firstCheckDelay(3, 1000, 500, () => 0.5)).toBe(250);
  });

  it('reports per-real-server state through status() and GET /v1/health', async () => {
    const [a] = await backends(1);
    const l = lab([{ port: a!.port, weight: 4, checks: [tcp()] }], { delay_loop: 0.05 });
    l.monitor.start();
    await waitFor(() => l.rs(a!.port).checkers[0]!.checks >= 1, 8000, 'a check');
    const [route] = healthRoutes(l.monitor);
    expect(route).toMatchObject({ method: 'GET', path: '/v1/health' });
    const body = (await route!.handler({} as never)) as ReturnType<typeof l.monitor.status>;
    expect(body.services[0]).toMatchObject({
      key: 'tcp 10.99.0.1:80',
      quorum: { up: true, weightSum: 4, quorum: 1, hysteresis: 0 },
      sorryServer: null,
      realServers: [
        {
          key: key(a!),
          state: 'up',
          weight: 4,
          healthWeight: 4,
          transitions: 0,
          failures: 0,
          checkers: [{ name: `tcp ${key(a!)}`, kind: 'tcp', state: 'up', failures: 0, dynamicWeight: null, last: { ok: true, reason: 'connected' } }],
        },
      ],
    });
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  });
});

async function bs_down(b: HttpBackend): Promise<void> {
  await b.set('down');
}
