/**
 * The peer-sync port under hostile input, on loopback: what an unauthenticated client can make this side hold or do
 * (a 64 MiB junk frame, hundreds of idle connections), and what a big authenticated snapshot costs the main loop.
 * The attackers run in a child process, so the event-loop probe measures the daemon side only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { StateStore, parseState, type DesiredState } from '@vsd/core';
import { createPeerSync, type PeerSync, type PeerSyncOptions } from '../../src/sync/index.js';
import { decodeThreadScript } from '../../src/sync/decoder.js';

const KEY = Buffer.from('0123456789abcdef-shared-key');
const ATTACKER = fileURLToPath(new URL('../support/peer-attacker.mjs', import.meta.url));
const SENDER = fileURLToPath(new URL('../support/peer-sender.mjs', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Node {
  store: StateStore;
  sync: PeerSync;
  port: number;
  lines: Array<Record<string, unknown>>;
}

async function node(id: string, opts: { peerPort?: number; store?: StateStore; link?: PeerSyncOptions['link'] } = {}): Promise<Node> {
  const store = opts.store ?? (await StateStore.open({ path: null }));
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  const sync = createPeerSync({
    id,
    key: KEY,
    listen: { host: '127.0.0.1', port: 0 },
    peer: opts.peerPort ? `127.0.0.1:${opts.peerPort}` : undefined,
    store,
    logger,
    link: opts.link,
  });
  const { port } = await sync.start();
  cleanups.push(() => sync.stop());
  return { store, sync, port, lines };
}

/** The largest delay of a 5 ms timer while it runs: what a VRRP advert timer on this loop would suffer. */
function lagProbe(): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(t);
      return worst;
    },
  };
}

/** Start an attacker process and wait until it is up; `go()` starts the attack. */
async function attacker(args: string[]): Promise<{ go(): void; done: Promise<Record<string, number>> }> {
  const child = spawn(process.execPath, [ATTACKER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanups.push(() => void child.kill());
  let out = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) readyResolve();
  });
  const done = new Promise<Record<string, number>>((resolve, reject) => {
    child.on('exit', () => {
      const last = out.trim().split('\n').at(-1) ?? '';
      return last.startsWith('{') ? resolve(JSON.parse(last) as Record<string, number>) : reject(new Error('attacker printed nothing'));
    });
  });
  // A test that fails before awaiting `done` has the attacker killed by the cleanup: that rejection is not news (the
  // failure is), and unhandled it was reported as a second, misleading error.
  done.catch(() => undefined);
  await ready;
  return { go: () => void child.stdin.write('go\n'), done };
}

async function until(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function bigState(services: number, perService: number): DesiredState {
  const list = [];
  for (let i = 0; i < services; i++) {
    const realServers = [];
    for (let j = 0; j < perService; j++) realServers.push({ address: `10.78.${j}.${(i % 250) + 1}`, port: 80, forwarding: 'masq' });
    list.push({ protocol: 'tcp', address: `10.77.${(i >> 8) & 255}.${i & 255}`, port: 80, scheduler: 'wlc', realServers });
  }
  return parseState({ version: 1, generation: 7, services: list }, 'test');
}

const rssMb = (): number => process.memoryUsage().rss / 2 ** 20;

/**
 * CPU time this thread (the event loop's) has run, from the kernel's scheduler statistics: what our own code costs
 * the loop, whatever else the host runs.
 */
function loopCpuMs(): number {
  return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
}

/**
 * The host runs other test files at the same time (2 cores, many processes): a timer can be late by tens of ms only
 * because this process was not scheduled, so a timer probe alone cannot tell our code from the neighbours. What is
 * asserted: the CPU time the loop's thread spent in a round (if our code ran less than 50 ms in total, no task of it
 * held the loop for 50 ms), best of the rounds; and, on the timer probe, that no round came near the seconds the old
 * parser held the loop. Both figures are printed.
 */
function judge(what: string, rounds: Array<{ lag: number; cpu: number }>): number {
  process.stdout.write(
    `peer sync: ${what}: loop CPU per round ${rounds.map((r) => r.cpu.toFixed(1)).join(', ')} ms; timer lag ${rounds.map((r) => r.lag.toFixed(1)).join(', ')} ms\n`,
  );
  for (const r of rounds) expect(r.lag).toBeLessThan(500);
  return Math.min(...rounds.map((r) => r.cpu));
}

/** The timer probe and the loop's CPU clock over one round. */
function measure(): { stop(): { lag: number; cpu: number } } {
  const probe = lagProbe();
  const cpu0 = loopCpuMs();
  return { stop: () => ({ lag: probe.stop(), cpu: loopCpuMs() - cpu0 }) };
}

describe('peer sync under hostile input', () => {
  it('refuses a 64 MiB junk frame before authentication unread, and keeps its loop answering', async () => {
    const b = await node('lvs2');
    const rss0 = rssMb();
    const lags: Array<{ lag: number; cpu: number }> = [];
    for (let round = 0; round < 3; round++) {
      const run = await attacker(['junk', String(b.port), '64']);
      const m = measure();
      run.go();
      const r = await run.done;
      lags.push(m.stop());
      process.stdout.write(`peer sync: 64 MiB junk frame closed after ${r.closedMs} ms (${(r.sent! / 2 ** 20).toFixed(1)} MiB taken by the socket)\n`);
      expect(r.closedMs).toBeLessThan(2000);
    }
    const grew = rssMb() - rss0;
    process.stdout.write(`peer sync: RSS +${grew.toFixed(1)} MiB after three 64 MiB junk frames\n`);
    expect(judge('64 MiB junk frame', lags)).toBeLessThan(50);
    expect(grew).toBeLessThan(32);
    expect(b.sync.status().refused.oversizeFrames).toBe(3);
    // Rate-limited: one line for the three refusals.
    expect(b.lines.filter((l) => l.msg === 'peer-sync frame above the limit: connection closed')).toHaveLength(1);

    // The real peer still gets in.
    const a = await node('lvs1', { peerPort: b.port });
    await until('link', () => a.sync.status().inSync && b.sync.status().inSync);
  });

  it('holds at most max_unauthenticated idle connections, drops them at the handshake deadline, and logs a flood once', async () => {
    const b = await node('lvs2', { link: { authTimeoutMs: 300, maxPending: 8 } });
    const rss0 = rssMb();
    const t0 = Date.now();
    const lags: Array<{ lag: number; cpu: number }> = [];
    for (let round = 1; round <= 5; round++) {
      const before = { ...b.sync.status().refused };
      const idle = await attacker(['idle', String(b.port), '300']);
      let held = 0;
      const sampler = setInterval(() => (held = Math.max(held, b.sync.status().pendingConnections)), 5);
      const m = measure();
      idle.go();
      // The attacker reports once the other side closed every one of its connections.
      const r = await idle.done;
      lags.push(m.stop());
      clearInterval(sampler);
      await until('pending released', () => b.sync.status().pendingConnections === 0);
      const now = b.sync.status().refused;
      const refused = now.tooManyPending - before.tooManyPending;
      const timedOut = now.handshakeTimeouts - before.handshakeTimeouts;
      process.stdout.write(
        `peer sync: 300 idle connections: ${r.closedEarly} refused at once, ${r.closedByDeadline} closed at the 300 ms deadline, at most ${held} held\n`,
      );
      // Each connection was either refused at accept or held (greeted) until its deadline, and both sides agree.
      // 292 + 8 when the flood arrives within the 300 ms deadline; on a starved host it takes longer, slots freed
      // at the deadline take more of it, and the split shifts, never the bound.
      expect(r.closedEarly).toBe(refused);
      expect(r.closedByDeadline).toBe(timedOut);
      expect(refused + timedOut).toBe(300);
      expect(timedOut).toBeGreaterThanOrEqual(8);
      expect(held).toBeLessThanOrEqual(8);
    }
    const grew = rssMb() - rss0;
    process.stdout.write(`peer sync: RSS +${grew.toFixed(1)} MiB after 5 x 300 idle connections\n`);
    expect(judge('300 idle connections', lags)).toBeLessThan(50);
    expect(grew).toBeLessThan(32);
    // One line per reason per 10 s whatever the flood: once, unless a starved host stretched the rounds past 10 s.
    const windows = Math.ceil((Date.now() - t0) / 10_000);
    expect(b.lines.filter((l) => l.msg === 'peer-sync connection refused: too many unauthenticated connections').length).toBeLessThanOrEqual(windows);
    expect(b.lines.filter((l) => l.msg === 'peer authentication failed').length).toBeLessThanOrEqual(windows);

    const a = await node('lvs1', { peerPort: b.port });
    await until('link after the flood', () => a.sync.status().inSync && b.sync.status().inSync);
  });

  it('names a version-1 (WebSocket) peer in the refusal', async () => {
    const b = await node('lvs2');
    const c = connect(b.port, '127.0.0.1');
    c.on('error', () => undefined);
    c.resume();
    c.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await new Promise((r) => c.on('close', r));
    expect(b.sync.status().refused.oversizeFrames).toBe(1);
    expect(b.lines.some((l) => String(l.msg).includes('protocol version 1'))).toBe(true);
  });

  it('refuses a frame above max_frame_bytes from an authenticated peer and counts it', async () => {
    const big = await StateStore.open({ path: null });
    await big.install(bigState(100, 10), 'config');
    const b = await node('lvs2', { link: { maxFrameBytes: 65_536 } });
    const a = await node('lvs1', { peerPort: b.port, store: big });
    await until('refusal', () => b.sync.status().refused.oversizeFrames > 0);
    expect(b.store.generation).toBe(0);
    expect(a.store.generation).toBe(7);
  });

  it('installs an authenticated snapshot of 10,000 real servers costing the main loop under 50 ms', async () => {
    expect(decodeThreadScript(), 'the decode thread is built (pnpm build)').not.toBeNull();
    const sender = spawn(process.execPath, [SENDER, KEY.toString(), '1000', '10'], { stdio: ['pipe', 'pipe', 'inherit'] });
    cleanups.push(() => void sender.kill());
    const port = await new Promise<number>((resolve, reject) => {
      sender.stdout.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
      sender.once('exit', () => reject(new Error('the sender exited')));
    });
    const expected = bigState(1000, 10);
    const bytes = JSON.stringify(expected).length;
    const lags: Array<{ lag: number; cpu: number }> = [];
    for (let round = 0; round < 5; round++) {
      const m = measure();
      const t0 = performance.now();
      // At nice 19 the decode thread gets ~1.5 % of a core next to one CPU-bound neighbour (another test file): the
      // rounds then took 10 s each. What is measured here is the main loop's cost, which the thread's priority does
      // not change.
      const b = await node(`lvs2-${round}`, { peerPort: port, link: { decodeNice: 0 } });
      await until('snapshot installed', () => b.store.generation === 7 && b.sync.status().inSync, 15_000);
      const ms = performance.now() - t0;
      lags.push(m.stop());
      process.stdout.write(`peer sync: snapshot of 1000 services x 10 real servers (${(bytes / 2 ** 20).toFixed(2)} MiB) installed in ${ms.toFixed(0)} ms\n`);
      expect(b.store.state.services).toEqual(expected.services);
      await b.sync.stop();
    }
    sender.stdin.end();
    expect(judge('snapshot of 10,000 real servers', lags)).toBeLessThan(50);
    // Five rounds take 3 s on an idle host and 13 s next to two CPU-bound processes on 2 cores.
  }, 60_000);
});
