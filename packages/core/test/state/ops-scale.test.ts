/** Issue 16: a transaction of n operations was O(n^2) (a scan of every service, or real server, per operation). */
import { describe, expect, it } from 'vitest';
import { applyOps, emptyState, firstFailingOp, parseOps, parseOpsInTurns, type StateOp } from '@vsd/core';

/** Parsed once, then copied with other addresses: zod on 100k operations would dominate the timing. */
function restoreOps(services: number, perService: number): StateOp[] {
  const [svcOp, rsOp] = parseOps([
    { op: 'add-service', service: { protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wrr' } },
    { op: 'add-server', service: { protocol: 'tcp', address: '10.0.0.1', port: 80 }, server: { address: '192.0.0.1', port: 8080, forwarding: 'masq' } },
  ]) as [Extract<StateOp, { op: 'add-service' }>, Extract<StateOp, { op: 'add-server' }>];
  const out: StateOp[] = [];
  for (let s = 0; s < services; s++) {
    const address = `10.${s >> 8}.${s & 255}.1`;
    out.push({ ...svcOp, service: { ...svcOp.service, address } });
    const service = { ...rsOp.service, address };
    for (let r = 0; r < perService; r++) out.push({ ...rsOp, service, server: { ...rsOp.server, address: `192.${r >> 16}.${(r >> 8) & 255}.${r & 255}` } });
  }
  return out;
}

describe('transactions at scale', () => {
  it('applies 100k operations in about linear time, many services or one big service', () => {
    for (const [services, per] of [
      [10_000, 9],
      [1, 99_999],
    ] as const) {
      const ops = restoreOps(services, per);
      const t0 = performance.now();
      const state = applyOps(emptyState(), ops);
      const ms = performance.now() - t0;
      expect(state.services.reduce((n, s) => n + 1 + s.realServers.length, 0)).toBe(100_000);
      // Quadratic was minutes here; linear is well under a second on a quiet core.
      expect(ms).toBeLessThan(5000);
    }
  });

  it('finds the first failing operation in one pass', () => {
    const ops = restoreOps(1000, 9);
    ops.push(ops[5]!);
    const t0 = performance.now();
    const { index, error } = firstFailingOp(emptyState(), ops);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect([index, (error as { code: string }).code]).toEqual([10_000, 'VSD_ERR_REAL_SERVER_EXISTS']);
    expect(firstFailingOp(emptyState(), ops.slice(0, -1)).index).toBe(-1);
  });

  it('keeps the index true across delete, clear and replace', () => {
    const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
    const rs = { address: '192.0.2.1', port: 8080, forwarding: 'masq' };
    const ops = parseOps([
      { op: 'add-service', service: { ...svc, scheduler: 'rr' } },
      { op: 'add-server', service: svc, server: rs },
      { op: 'delete-server', service: svc, server: { address: rs.address, port: rs.port } },
      { op: 'add-server', service: svc, server: rs },
      { op: 'delete-service', service: svc },
      { op: 'add-service', service: { ...svc, scheduler: 'rr' } },
      { op: 'clear' },
      { op: 'add-service', service: { ...svc, scheduler: 'rr' } },
      { op: 'add-server', service: svc, server: rs },
    ]);
    const state = applyOps(emptyState(), ops);
    expect(state.services.map((s) => s.realServers.length)).toEqual([1]);
    expect(firstFailingOp(state, parseOps([{ op: 'add-server', service: svc, server: rs }])).index).toBe(0);
  });

  it('validates a large transaction in turns: same operations and errors as parseOps, and the loop keeps ticking', async () => {
    const raw = Array.from({ length: 20_000 }, (_, i) => ({
      op: 'add-service',
      service: { protocol: 'tcp', address: '10.0.0.1', port: 1 + (i % 60000), scheduler: 'rr' },
    }));
    let ticks = 0;
    const t = setInterval(() => ticks++, 1);
    const parsed = await parseOpsInTurns(raw);
    clearInterval(t);
    expect(parsed).toEqual(parseOps(raw));
    expect(ticks).toBeGreaterThan(2);
    const bad = [
      ...raw.slice(0, 1234),
      { op: 'add-service', service: { protocol: 'tcp', address: '10.0.0.1', port: 1, scheduler: 'rr', weight: 1 } },
      ...raw.slice(1234),
    ];
    await expect(parseOpsInTurns(bad)).rejects.toThrow(/^ops\.1234\.service\.weight: unknown field/);
    await expect(parseOpsInTurns([...raw, 7])).rejects.toThrow(/^ops\.20000: expected an operation object/);
  });
});
