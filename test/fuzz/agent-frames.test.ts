import { describe, expect, it } from 'vitest';
import { agentMessageSchema, authSchema, dispatcherMessageSchema, helloSchema, MAX_FRAME_BYTES, parseFrame, reportSchema } from '@vsd/core';
import { mount, report } from '../../packages/core/test/agents/fixtures.js';
import { deepNest, mutateBytes, mutateJson, randomJson } from './lib/mutate.js';
import { fuzz } from './lib/run.js';

// Agent channel frames (core agents/protocol.ts): parsed by the hub from any peer before and after authentication.
const SEEDS: unknown[] = [
  { v: 1, type: 'hello', agent: 'web1', addresses: ['10.77.0.13', '2001:db8::13'], nonce: 'n'.repeat(32), interval: 1, software: 'vsd-agent' },
  { v: 1, type: 'auth', proof: 'p'.repeat(64) },
  report(),
  report({ mounts: [mount(), mount({ path: '/b', sentinel: null, responsive: null })], service: null, maintenance: true }),
  { v: 1, type: 'challenge', dispatcher: 'lvs1', nonce: 'm'.repeat(32), proof: 'q'.repeat(64) },
  { v: 1, type: 'welcome', silentAfter: 3 },
  { v: 1, type: 'refused', code: 'VSD_ERR_AUTH', message: 'wrong key' },
];
const SCHEMAS = [helloSchema, authSchema, reportSchema, agentMessageSchema, dispatcherMessageSchema];

describe('fuzz: agent frames', () => {
  it('parseFrame never throws; an accepted frame serialises to one that parses the same', async () => {
    let accepted = 0;
    await fuzz<Buffer>({
      name: 'agent-frames',
      seeds: SEEDS.map((s) => Buffer.from(JSON.stringify(s))),
      mutate(rng, s, corpus) {
        // The hub's WebSocket server never hands over a frame above MAX_FRAME_BYTES.
        if (rng.chance(0.05)) return Buffer.from(deepNest(rng, s.toString(), MAX_FRAME_BYTES));
        return rng.chance(0.7) ? Buffer.from(JSON.stringify(mutateJson(rng, JSON.parse(s.toString())))) : Buffer.from(mutateBytes(rng, s, corpus));
      },
      random: (rng) => (rng.chance(0.5) ? Buffer.from(rng.bytes(rng.int(400))) : Buffer.from(JSON.stringify(randomJson(rng)))),
      serialize: (b) => b,
      check(frame) {
        for (const schema of SCHEMAS) {
          const r = parseFrame(schema, frame);
          if (!r.ok) {
            expect(typeof r.reason).toBe('string');
            continue;
          }
          accepted++;
          const again = parseFrame(schema, JSON.stringify(r.msg));
          expect(again).toEqual(r);
        }
        // The hub also receives binary frames and fragment arrays.
        expect(parseFrame(helloSchema, [frame.subarray(0, 3), frame.subarray(3)]).ok).toBe(parseFrame(helloSchema, frame).ok);
      },
    });
    expect(accepted).toBeGreaterThan(100);
  });
});
