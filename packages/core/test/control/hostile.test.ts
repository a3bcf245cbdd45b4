/**
 * Issue 16, control API: deeply nested bodies, oversized bodies and clients that hold connections open must get
 * a quick, explicit answer (or be cut off), and the server must keep answering everybody else within budget.
 */
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlRequestError, createControlClient } from '@vsd/core';
import { jsonDepth, MAX_JSON_DEPTH } from '../../src/control/body.js';
import { addService, raw, startHarness, type Harness } from './helpers.js';

let h: Harness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.close();
  h = undefined;
});

/** How long a GET /v1/state takes on the unix socket. */
async function timedState(): Promise<number> {
  const t0 = performance.now();
  const r = await raw({ socket: h!.socket }, 'GET', '/v1/state');
  expect(r.status).toBe(200);
  return performance.now() - t0;
}

describe('control API under hostile input (issue 16)', () => {
  it('measures depth in one pass, brackets inside strings excluded', () => {
    expect(jsonDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonDepth('{"a":"[[[[[[\\"[[["}')).toBe(1);
    expect(jsonDepth('['.repeat(1_000_000), 65)).toBe(65);
  });

  it('answers a deeply nested body with 400 quickly and keeps answering', async () => {
    h = await startHarness();
    for (const body of [
      `{"ops":${'['.repeat(500_000)}${']'.repeat(500_000)}}`,
      `{"ops":[{"op":"add-service","service":{"protocol":"tcp","address":"10.0.0.1","port":80,"scheduler":${'['.repeat(20_000)}${']'.repeat(20_000)}}}]}`,
      `{"ops":[${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]}`,
    ]) {
      const t0 = performance.now();
      const r = await raw({ socket: h.socket }, 'POST', '/v1/transactions', body, { 'content-type': 'application/json' });
      const ms = performance.now() - t0;
      expect([r.status, r.json.error.code, r.json.error.details.limit]).toEqual([400, 'VSD_ERR_BAD_REQUEST', MAX_JSON_DEPTH]);
      expect(r.json.error.message).toMatch(/nested deeper than 64 levels/);
      expect(ms).toBeLessThan(1000);
      expect(await timedState()).toBeLessThan(200);
    }
    expect(h.store.generation).toBe(0);
  });

  it('a refusal whose details cannot be serialised still gets its answer', async () => {
    h = await startHarness();
    // 60 levels pass the depth check; the validation error carries the value.
    const deep = `${'['.repeat(60)}${']'.repeat(60)}`;
    const body = `{"ops":[{"op":"add-service","service":{"protocol":"tcp","address":"10.0.0.1","port":80,"scheduler":${deep}}}]}`;
    const r = await raw({ socket: h.socket }, 'POST', '/v1/transactions', body);
    expect([r.status, r.json.error.code]).toEqual([400, 'VSD_ERR_VALIDATION']);
  });

  it('an oversized body gets 413 with its code and the limit, read to its end, and the client library reports it as such', async () => {
    h = await startHarness({ maxTransactionBytes: 100_000 });
    const big = { ops: Array.from({ length: 5000 }, (_, i) => addService({ port: 1 + i })) };
    const err = (await createControlClient({ socket: h.socket })
      .post('/v1/transactions', big)
      .catch((e: unknown) => e)) as ControlRequestError;
    expect(err).toBeInstanceOf(ControlRequestError);
    expect([err.status, err.code, err.details.limit]).toEqual([413, 'VSD_ERR_BODY_TOO_LARGE', 100_000]);
    expect(err.message).toMatch(/exceeds the limit of 100000 bytes for \/v1\/transactions/);
    expect(await timedState()).toBeLessThan(200);
  });

  it('bounds slow TCP clients (slowloris): connection cap, header deadline, and the unix socket keeps answering', async () => {
    const tokenFile = join(tmpdir(), `vsd-token-hostile-${process.pid}`);
    writeFileSync(tokenFile, 'tok\n');
    h = await startHarness({ listen: '127.0.0.1:0', tokenFile, tcpLimits: { maxConnections: 20, headersTimeoutMs: 600 } });
    const port = h.server.tcpAddress!.port;
    let closed = 0;
    // 60 clients that each send half a request line and then nothing.
    for (let i = 0; i < 60; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.on('close', () => closed++);
      s.resume();
      s.write('GET /v1/state HTTP/1.1\r\nHost: x\r\n');
      sockets.push(s);
    }
    // Those above the cap are closed at accept; the unix socket answers all along.
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).toBeGreaterThanOrEqual(40);
    expect(await timedState()).toBeLessThan(200);
    // The rest are cut at the header deadline (checked every 150 ms here).
    const t0 = Date.now();
    while (closed < 60 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(60);
    // A silent connection (no byte at all) is cut too, and an honest TCP client is served again.
    const idle = connect({ host: '127.0.0.1', port });
    sockets.push(idle);
    idle.on('error', () => undefined);
    idle.resume();
    const idleClosed = new Promise<number>((r) => idle.once('close', () => r(Date.now())));
    const opened = Date.now();
    const closedAt = await Promise.race([idleClosed, new Promise<number>((_, j) => setTimeout(() => j(new Error('idle connection never closed')), 3000))]);
    expect(closedAt - opened).toBeLessThan(2000);
    const ok = await raw({ host: '127.0.0.1', port }, 'GET', '/v1/state', undefined, { authorization: 'Bearer tok' });
    expect(ok.status).toBe(200);
    // A wrong token closes the connection: no second guess on it.
    const denied = await raw({ host: '127.0.0.1', port }, 'GET', '/v1/state', undefined, { authorization: 'Bearer nope' });
    expect([denied.status, denied.headers.connection]).toEqual([401, 'close']);
  });
});
