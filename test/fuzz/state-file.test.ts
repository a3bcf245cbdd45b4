import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateCorruptError, StateStore, parseOps, parseState } from '@vsd/core';
import { addServer, addService, svc } from '../../packages/core/test/control/helpers.js';
import { deepNest, mutateBytes, mutateJson, randomJson } from './lib/mutate.js';
import { expectTyped, fuzz } from './lib/run.js';

// The state file (core state/store.ts): read at every start; a damaged one must stop vsd with a clear error and stay put.
let dir: string;
const SEEDS: Buffer[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vsd-fuzz-state-'));
  const path = join(dir, 'seed.json');
  const store = await StateStore.open({ path });
  await store.apply(
    parseOps([
      addService({ scheduler: 'wrr', persistence: { timeout: 300 } }),
      addServer('10.0.1.1', { weight: 5 }),
      addServer('2001:db8::1', { forwarding: 'tunnel' }),
    ]),
  );
  await store.apply(
    parseOps([
      { op: 'set-timeouts', timeouts: { tcp: 900, tcpfin: 120, udp: 300 } },
      { op: 'add-service', service: { ...svc, protocol: 'udp', scheduler: 'sh' } },
    ]),
  );
  await store.flush();
  SEEDS.push(readFileSync(path), Buffer.from(JSON.stringify(parseState({}, 'empty'))));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz: state file', () => {
  it('opens or refuses with StateCorruptError, leaving the file as it was; what opens round-trips', async () => {
    let opened = 0;
    const path = () => join(dir, 'state.json');
    await fuzz<Buffer>({
      name: 'state-file',
      seeds: SEEDS,
      minRuns: 30,
      mutate(rng, s, corpus) {
        if (rng.chance(0.05)) return Buffer.from(deepNest(rng, s.toString()));
        return rng.chance(0.75) ? Buffer.from(JSON.stringify(mutateJson(rng, JSON.parse(s.toString())))) : Buffer.from(mutateBytes(rng, s, corpus));
      },
      random: (rng) => (rng.chance(0.5) ? Buffer.from(rng.bytes(rng.int(300))) : Buffer.from(JSON.stringify(randomJson(rng)))),
      serialize: (b) => b,
      async check(bytes) {
        writeFileSync(path(), bytes);
        let store: StateStore;
        try {
          store = await StateStore.open({ path: path() });
        } catch (err) {
          expectTyped(err, [StateCorruptError]);
          expect(readFileSync(path()).equals(bytes), 'a refused state file was changed').toBe(true);
          return;
        }
        opened++;
        const doc = store.state;
        expect(parseState(JSON.parse(JSON.stringify(doc)), 'round trip')).toEqual(doc);
      },
    });
    expect(opened).toBeGreaterThan(10);
  });
});
