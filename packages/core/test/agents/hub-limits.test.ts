import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CLOSE_FORGOTTEN } from '../../src/agents/protocol.js';
import { WeightOverlay } from '../../src/weights/overlay.js';
import { report } from './fixtures.js';
import { FakeStore, KEY, connect, sockets, startHub, stateWith, until } from './hub-helpers.js';

// Issue #16: records were never removed, a refused peer was logged frame by frame, pre-auth connections unbounded.
const SVC = 'tcp 10.0.0.100:80';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CPU time this thread (the event loop's) has run, in ms. */
const loopCpuMs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;

describe('agent hub limits', () => {
  it('forgets a silent agent forget_after seconds after draining it: the real server returns to health-check control', async () => {
    // Silence and forget_after are judged on the hub's clock, here the test's: each deadline is stepped over by a
    // millisecond, so a starved host cannot stretch or shrink what the test measures (it timed them with Date.now()).
    const t0 = Date.now();
    let clock = t0;
    const store = new FakeStore(stateWith('10.0.0.1', '10.0.0.2'));
    const { hub, port, overlay, lines } = await startHub(store, new WeightOverlay(), { forgetAfterMs: 300, now: () => clock });
    const gone = await connect(port, KEY, 'web1', ['10.0.0.1'], 0.1);
    const hung = await connect(port, KEY, 'web2', ['10.0.0.2'], 0.1);
    sockets.push(gone.ws, hung.ws);
    gone.send(report({ load: { ...report().load, weightPct: 50 } }));
    hung.send(report());
    await until('applied', () => overlay.view(SVC, '10.0.0.1:80').factor === 0.5 && overlay.view(SVC, '10.0.0.2:80').factor === 1);
    gone.ws.close();
    await until('web1 disconnected', () => hub.status().agents.find((a) => a.agent === 'web1')?.connected === false);
    // web2 stays connected but stops reporting (a hung agent, or a peer that vanished without a FIN).
    // silent_after 3 x interval 0.1 s after the last report: drained.
    clock = t0 + 301;
    hub.recompute();
    expect(overlay.view(SVC, '10.0.0.1:80').factor).toBe(0);
    expect(overlay.view(SVC, '10.0.0.2:80').factor).toBe(0);
    expect(hub.status().agents.map((a) => [a.state, a.forgetAt])).toEqual([
      ['silent', t0 + 600],
      ['silent', t0 + 600],
    ]);
    // forget_after 0.3 s after the drain: not a millisecond before.
    clock = t0 + 599;
    hub.recompute();
    expect(hub.status().agents).toHaveLength(2);
    clock = t0 + 600;
    hub.recompute();
    expect(hub.status().agents).toHaveLength(0);
    expect(overlay.view(SVC, '10.0.0.1:80').sources).toEqual({});
    expect(overlay.view(SVC, '10.0.0.2:80').sources).toEqual({});
    expect(hub.status().counters.forgotten).toBe(2);
    expect(await hung.closed).toBe(CLOSE_FORGOTTEN);
    expect(
      lines
        .filter((l) => l.msg === 'agent forgotten: its real servers return to health-check control')
        .map((l) => l.agent)
        .sort(),
    ).toEqual(['web1', 'web2']);
    // The option is in ms; the status reply and the log line say seconds, the file's forget_after.
    expect(hub.status().forgetAfter).toBe(0.3);
    expect(lines.find((l) => l.agent === 'web1' && l.why)?.why).toBe('silent for forget_after 0.3 s after draining');
  });

  it('caps records: at max_agents the longest-silent record makes room, a live table refuses the new name', async () => {
    // On the test's clock: b is silent 3 x 0.05 s after it connected, however long the connects take here.
    const t0 = Date.now();
    let clock = t0;
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port } = await startHub(store, new WeightOverlay(), { maxAgents: 2, forgetAfterMs: 0, now: () => clock });
    const a = await connect(port, KEY, 'a', ['10.0.0.1'], 10);
    const b = await connect(port, KEY, 'b', ['10.0.0.1'], 0.05);
    sockets.push(a.ws, b.ws);
    const c = await connect(port, KEY, 'c', ['10.0.0.1'], 10);
    sockets.push(c.ws);
    // b is not silent yet: both live, c refused.
    expect(c.welcome).toBe(false);
    expect(c.messages.at(-1)).toMatchObject({ type: 'refused', code: 'VSD_ERR_AGENT_LIMIT' });
    clock = t0 + 151;
    const c2 = await connect(port, KEY, 'c', ['10.0.0.1'], 10);
    sockets.push(c2.ws);
    expect(c2.welcome).toBe(true);
    expect(hub.status().agents.map((x) => x.agent)).toEqual(['a', 'c']);
    expect(hub.status().counters).toMatchObject({ refusedFull: 1, forgotten: 1 });
  });

  it('6,000 agent records: idle CPU and a control-path recompute stay small', async () => {
    const store = new FakeStore(stateWith('10.0.0.1', '10.0.0.2'));
    const { hub, port } = await startHub(store, new WeightOverlay(), { sweepMs: 200, maxAgents: 10_000 });
    const N = 6000;
    const t0 = Date.now();
    // Every record claims the same address (the worst case for the old per-address list copies); each disconnects.
    for (let i = 0; i < N; i += 500) {
      const batch = await Promise.all(Array.from({ length: Math.min(500, N - i) }, (_, k) => connect(port, KEY, `a${i + k}`, ['10.0.0.1'], 0.05)));
      for (const x of batch) x.ws.terminate();
    }
    const fillMs = Date.now() - t0;
    await until('all stale', () => hub.status().agents.filter((a) => a.state === 'silent').length === N, 20_000);
    // The hub's idle cost is on the event loop's thread: its CPU time alone, from the kernel's scheduler statistics.
    // The process's (process.cpuUsage) adds every other thread of the test worker (GC helpers, threads an earlier
    // file left), and measured 10.5 % once in a full unit run against 0.1 % for the file alone.
    const cpu0 = loopCpuMs();
    const w0 = Date.now();
    await sleep(1000);
    const idle = (loopCpuMs() - cpu0) / (Date.now() - w0);
    // CPU time, not wall time: a recompute is synchronous, so what it costs is the CPU it uses; on a loaded host the
    // wall clock adds the time the process waited for a core (88 ms measured for a 20 ms recompute).
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c0 = process.cpuUsage();
      store.set(stateWith('10.0.0.1', '10.0.0.2', ...(i % 2 ? ['10.0.0.3'] : [])));
      const c = process.cpuUsage(c0);
      times.push((c.user + c.system) / 1000);
    }
    const recomputeMs = times.sort((x, y) => x - y)[2]!;
    const s0 = performance.now();
    const st = hub.status();
    const statusMs = performance.now() - s0;
    console.log(
      `6000 records: busy ${st.counters.refusedBusy}, fill ${fillMs} ms, idle CPU ${(idle * 100).toFixed(1)} % of a core, recompute ${recomputeMs.toFixed(1)} ms, status ${statusMs.toFixed(1)} ms`,
    );
    expect(st.agents.length).toBe(N);
    // Before: 68 % of a core idle and 158 ms per state change.
    expect(idle).toBeLessThan(0.1);
    expect(recomputeMs).toBeLessThan(60);
  }, 90_000);
});

function openRaw(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1', () => resolve(s));
    s.on('error', () => resolve(s));
  });
}

/** An open WebSocket to the hub that has sent nothing yet; `closed` resolves with the hub's close code. */
async function openUnauthenticated(port: number): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  sockets.push(ws);
  const closed = new Promise<number>((r) => ws.on('close', (c) => r(c)));
  ws.on('error', () => {});
  await new Promise((r) => ws.on('open', r));
  return { ws, closed };
}

describe('agent hub before authentication', () => {
  it('bounds unauthenticated connections: a flood is closed at accept, authenticated agents do not count', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port } = await startHub(store, new WeightOverlay(), { maxPreAuth: 10, authTimeoutMs: 300 });
    const agents = [];
    for (let i = 0; i < 12; i++) agents.push(await connect(port, KEY, `web${i}`, ['10.0.0.1'], 10));
    sockets.push(...agents.map((a) => a.ws));
    expect(agents.every((a) => a.welcome)).toBe(true);
    const flood = await Promise.all(Array.from({ length: 50 }, () => openRaw(port)));
    await until('flood refused', () => hub.status().counters.refusedBusy >= 40);
    expect(hub.status().preAuth).toBeLessThanOrEqual(10);
    // While the flood holds every pre-auth slot a newcomer waits its turn; the deadline frees the slots.
    await until('deadline frees the slots', () => hub.status().preAuth === 0, 3000);
    expect(flood.every((s) => s.destroyed || s.readyState !== 'open')).toBe(true);
    const late = await connect(port, KEY, 'late', ['10.0.0.1'], 10);
    sockets.push(late.ws);
    expect(late.welcome).toBe(true);
    for (const s of flood) s.destroy();
  });
});

describe('agent hub logging under junk', () => {
  it('a refused peer streaming junk costs O(1) log lines and is closed at once', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port, lines } = await startHub(store);
    const { ws, closed } = await openUnauthenticated(port);
    const t0 = Date.now();
    // 40,000 frames from 880 KB logged 40,000 lines before the fix.
    for (let i = 0; i < 40_000 && ws.readyState === WebSocket.OPEN; i++) ws.send(`{"junk":${i},"pad":"xx"}`);
    await closed;
    expect(Date.now() - t0).toBeLessThan(3000);
    await sleep(100);
    const refusedLines = lines.filter((l) => l.msg === 'agent refused' || l.msg === 'agent frame dropped');
    expect(refusedLines.length).toBe(1);
    expect(lines.length).toBeLessThan(5);
    expect(hub.status().counters.refused).toBe(1);
  });

  it('a refused peer sending a huge frame before auth is refused without parsing it', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { lines, port } = await startHub(store);
    const { ws, closed } = await openUnauthenticated(port);
    ws.send(JSON.stringify({ v: 1, type: 'hello', agent: 'x', addresses: ['10.0.0.1'], nonce: 'n'.repeat(32), interval: 1, software: 'y'.repeat(30_000) }));
    expect(await closed).toBe(4002);
    expect(lines.find((l) => l.msg === 'agent refused')!.reason).toMatch(/before authentication/);
  });

  it('regression (fuzz): a hello whose version is nested 8,000 deep is refused and the hub keeps working', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port, lines } = await startHub(store);
    const { ws, closed } = await openUnauthenticated(port);
    ws.send(`{"v":${'['.repeat(8000)}${']'.repeat(8000)},"type":"hello"}`);
    expect(await closed).toBe(4002);
    expect(lines.find((l) => l.msg === 'agent refused')!.reason).toBe('bad hello: unsupported protocol version an array');
    const a = await connect(port, KEY);
    sockets.push(a.ws);
    expect(a.welcome).toBe(true);
    expect(hub.status().counters.accepted).toBe(1);
  });

  it('a flood of refused connections is rate-limited to a fixed budget of lines plus one summary', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port, lines } = await startHub(store, new WeightOverlay(), { maxPreAuth: 1000 });
    const N = 200;
    await Promise.all(
      Array.from({ length: N }, async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`);
        ws.on('error', () => {});
        const closed = new Promise((r) => ws.on('close', r));
        await new Promise((r) => ws.on('open', r));
        ws.send('not json');
        await closed;
      }),
    );
    expect(hub.status().counters.refused).toBe(N);
    expect(lines.filter((l) => l.msg === 'agent refused').length).toBe(20);
    await hub.stop();
    expect(lines.find((l) => l.msg === 'log lines suppressed (rate limit)')).toMatchObject({ suppressed: N - 20 });
  });

  it('after max_bad_frames a live agent is closed and its later frames are not logged', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port, lines } = await startHub(store, new WeightOverlay(), { maxBadFrames: 3 });
    const a = await connect(port, KEY);
    sockets.push(a.ws);
    for (let i = 0; i < 5000 && a.ws.readyState === WebSocket.OPEN; i++) a.send('{bad');
    await a.closed;
    expect(hub.status().counters.badFrames).toBe(3);
    expect(lines.filter((l) => l.msg === 'agent frame dropped').length).toBe(3);
  });
});
