import { describe, expect, it } from 'vitest';
import { formatAgentCheck, parseAgentCheck } from '@vsd/core';
import { mutateText } from './lib/mutate.js';
import { fuzz } from './lib/run.js';

// HAProxy agent-check replies (core agents/agent-check.ts): what any agent answers a dispatcher or HAProxy.
const SEEDS = [
  'up ready 75%\n',
  'down #storage broken: /srv is not mounted\n',
  'maint\n',
  'up drain\n',
  'weight:12 maxconn:30\r',
  'fail,stopped\t#x\n',
  'weight:50% ready\n',
];
const TOKENS = ['up', 'down', 'fail', 'stopped', 'ready', 'drain', 'maint', '%', 'weight:', 'maxconn:', '#', ',', '\t', '\r', '\n', ' '];

describe('fuzz: agent-check reply', () => {
  it('parses any line without throwing; every field it returns is well-formed; format -> parse round-trips', async () => {
    await fuzz({
      name: 'agent-check',
      seeds: SEEDS,
      mutate: (rng, s, corpus) => mutateText(rng, s, TOKENS, corpus),
      random: (rng) => Buffer.from(rng.bytes(rng.int(300))).toString('latin1'),
      serialize: (s) => s,
      check(text) {
        const r = parseAgentCheck(text);
        if (r === null) return expect(/[\r\n]/.test(text)).toBe(false);
        for (const n of [r.weight, r.weightPct, r.maxconn]) if (n !== undefined) expect(Number.isInteger(n) && n >= 0).toBe(true);
        expect(r.description === undefined || !/[\r\n]/.test(r.description)).toBe(true);
        // What vsd-agent answers must read back as what it meant, whatever the down reason holds.
        const line = formatAgentCheck({ maintenance: false, downReason: text, weightPct: 50 });
        expect(line.endsWith('\n') && line.indexOf('\n') === line.length - 1).toBe(true);
        expect(parseAgentCheck(line)?.state).toBe('down');
      },
    });
  });
});
