import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@vsd/core';
import { parseConfigText } from '../../packages/daemon/src/config-load.js';
import { mutateText } from './lib/mutate.js';
import { expectTyped, fuzz } from './lib/run.js';

// vsd.yaml (packages/daemon/src/config-load.ts): every problem must be a ConfigError naming the key and the value.
const EXAMPLE = readFileSync(new URL('../../examples/vsd.yaml', import.meta.url), 'utf8');
// The example with its commented sections switched on, so that the ha/peer/agents/metrics schemas are fuzzed too.
const UNCOMMENTED = EXAMPLE.replace(/^# (ha|peer|agents|metrics):/gm, '$1:').replace(/^#( {2,}[a-z_]+:)/gm, '$1');
const SEEDS = [
  EXAMPLE,
  UNCOMMENTED,
  'virtual_servers: []\n',
  'virtual_servers:\n  - address: 10.77.0.100:80\n    real_servers: [{ address: 10.77.0.13:80 }]\n',
];
const TOKENS = [
  ': ',
  ':',
  '- ',
  '\n  ',
  '\n    ',
  '{',
  '}',
  '[',
  ']',
  '"',
  "'",
  '&a',
  '*a',
  '<<: *a',
  '!!binary',
  '!!js/function',
  '---',
  '...',
  '~',
  'null',
  'true',
  '0x1F',
  '1e9',
  '.inf',
  '? ',
  '|',
  '>',
  '%YAML 1.2',
  'lb_kind: TUN',
  'protocol: sctp',
  'fwmark: 7',
];

describe('fuzz: vsd.yaml', () => {
  it('loads or refuses with ConfigError, whatever the text, in bounded time', async () => {
    let loaded = 0;
    expect(UNCOMMENTED).not.toBe(EXAMPLE);
    await fuzz<string>({
      name: 'config',
      seeds: SEEDS,
      perInputMs: 1500,
      mutate: (rng, s, corpus) => mutateText(rng, s, TOKENS, corpus),
      random: (rng) => Buffer.from(rng.bytes(rng.int(300))).toString('latin1'),
      serialize: (s) => s,
      check(text) {
        try {
          const c = parseConfigText(text, 'vsd.yaml');
          loaded++;
          // Deterministic: the same text gives the same table.
          expect(parseConfigText(text, 'vsd.yaml').servicesHash).toBe(c.servicesHash);
        } catch (err) {
          expectTyped(err, [ConfigError]);
        }
      },
    });
    expect(loaded).toBeGreaterThan(10);
  });
});
