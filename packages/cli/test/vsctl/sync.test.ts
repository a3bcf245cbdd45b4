import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { typedClient, type ControlClient } from '@vsd/core';
import type { DivergenceEntry } from '@vsd/ha';
import { syncCommand } from '../../src/vsctl/ha.js';

const entry: DivergenceEntry = {
  id: 'd-1',
  recordedAt: 0,
  generation: 3,
  origin: 'api',
  at: Date.UTC(2026, 0, 1),
  ops: [],
  reason: 'changed on both sides: service|tcp 10.77.0.100:80',
  keys: [{ key: 'service|tcp 10.77.0.100:80', ours: { scheduler: 'sh' } as never, theirs: { scheduler: 'wlc' } as never }],
  patch: null,
};

function run(args: string[], answers: Record<string, unknown>) {
  const calls: unknown[][] = [];
  const client = typedClient({
    where: 'test',
    get: async (p: string) => (calls.push(['GET', p]), answers[`GET ${p}`]),
    post: async (p: string, b?: unknown) => (calls.push(['POST', p, b]), answers[`POST ${p}`]),
  } as unknown as ControlClient);
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return syncCommand.run({ client, json: false, args, out }).then((code) => ({ code, calls, text }));
}

describe('vsctl sync and the divergence record', () => {
  it('--divergence lists each kept transaction with both values of each key', async () => {
    const r = await run(['--divergence'], { 'GET /v1/sync/divergence': { entries: [entry] } });
    expect(r.code).toBe(0);
    expect(r.text).toContain('d-1  generation 3 (api, 2026-01-01T00:00:00.000Z): changed on both sides');
    expect(r.text).toContain('ours:   {"scheduler":"sh"}');
    expect(r.text).toContain('theirs: {"scheduler":"wlc"}');
  });

  it('--replay-divergence without ids replays all; a failed replay exits 1', async () => {
    const ok = await run(['--replay-divergence'], { 'POST /v1/sync/divergence/replay': { results: [{ id: 'd-1', ok: true, generation: 9 }] } });
    expect(ok.calls).toEqual([['POST', '/v1/sync/divergence/replay', { ids: [] }]]);
    expect(ok.text).toBe('d-1: replayed (generation 9)\n');
    const bad = await run(['--replay-divergence', 'd-7'], {
      'POST /v1/sync/divergence/replay': { results: [{ id: 'd-7', ok: false, error: 'no such divergence entry' }] },
    });
    expect(bad.code).toBe(1);
    expect(bad.calls[0]![2]).toEqual({ ids: ['d-7'] });
  });

  it('--drop-divergence needs ids or "all"', async () => {
    await expect(run(['--drop-divergence'], {})).rejects.toThrow(/needs the entry ids/);
    const all = await run(['--drop-divergence', 'all'], { 'POST /v1/sync/divergence/drop': { dropped: 2 } });
    expect(all.calls[0]![2]).toEqual({ ids: [] });
    expect(all.text).toBe('2 divergence entries dropped\n');
  });
});
