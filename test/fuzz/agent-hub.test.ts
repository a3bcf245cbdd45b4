import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentHub, MAX_FRAME_BYTES, WeightOverlay, parseFrame, reportSchema } from '@vsd/core';
import { mount, report } from '../../packages/core/test/agents/fixtures.js';
import { FakeStore, KEY, connect, stateWith, type TestAgent } from '../../packages/core/test/agents/hub-helpers.js';
import { deepNest, mutateBytes, mutateJson } from './lib/mutate.js';
import { fuzz } from './lib/run.js';

// Agent reports through the real hub on loopback: a refused frame must leave the record and the overlay as they were.
const SVC = 'tcp 10.0.0.100:80';
let hub: AgentHub;
let port: number;
const overlay = new WeightOverlay();
let agent: TestAgent | null = null;

beforeAll(async () => {
  hub = new AgentHub({
    listen: '127.0.0.1:0',
    key: KEY,
    id: 'lvs1',
    overlay,
    store: new FakeStore(stateWith('10.0.0.1', '10.0.0.2')),
    maxBadFrames: 1_000_000,
    recomputeDelayMs: 0,
  });
  ({ port } = await hub.start());
});
afterAll(async () => {
  agent?.ws.terminate();
  await hub.stop();
});

async function live(): Promise<TestAgent> {
  if (agent && agent.ws.readyState === agent.ws.OPEN) return agent;
  const a = await connect(port, KEY, 'web1', ['10.0.0.1'], 3600);
  if (!a.welcome) throw new Error('agent not admitted');
  agent = a;
  return a;
}

async function settle(done: () => boolean): Promise<void> {
  const end = Date.now() + 1000;
  while (!done()) {
    if (Date.now() > end) throw new Error('the hub did not process the frame within 1 s');
    await new Promise((r) => setImmediate(r));
  }
  // The coalesced recompute runs on a 0 ms timer after the frame.
  await new Promise((r) => setTimeout(r, 1));
}

const SEEDS = [
  report(),
  report({ load: { ...report().load, weightPct: 40 } }),
  report({ mounts: [mount({ readOnly: true }), mount({ path: '/b', sentinel: 'b'.repeat(64) })], maintenance: true }),
].map((r) => Buffer.from(JSON.stringify(r)));

describe('fuzz: agent reports through the hub', () => {
  it('applies exactly the frames parseFrame accepts; a refused frame changes neither the record nor the overlay', async () => {
    let accepted = 0;
    await fuzz<Buffer>({
      name: 'agent-hub',
      seeds: SEEDS,
      minRuns: 30,
      mutate(rng, s, corpus) {
        if (rng.chance(0.05)) return Buffer.from(deepNest(rng, s.toString(), MAX_FRAME_BYTES));
        return rng.chance(0.8) ? Buffer.from(JSON.stringify(mutateJson(rng, JSON.parse(s.toString())))) : Buffer.from(mutateBytes(rng, s, corpus));
      },
      random: (rng) => Buffer.from(rng.bytes(rng.int(200))),
      serialize: (b) => b,
      async check(frame) {
        if (frame.length > MAX_FRAME_BYTES) return;
        const a = await live();
        const before = hub.status();
        const rec = before.agents.find((x) => x.agent === 'web1')!;
        const views = JSON.stringify([overlay.view(SVC, '10.0.0.1:80'), overlay.view(SVC, '10.0.0.2:80')]);
        // Sent as a text frame (the WebSocket layer itself refuses invalid UTF-8), now and then as a binary one.
        const binary = frame[0] === 0x00;
        const text = frame.toString('utf8');
        const expected = binary ? parseFrame(reportSchema, null) : parseFrame(reportSchema, text);
        a.ws.send(binary ? frame : text, { binary });
        await settle(() => {
          const st = hub.status();
          return st.counters.badFrames > before.counters.badFrames || st.agents[0]?.lastReportAt !== rec.lastReportAt;
        });
        const after = hub.status().agents.find((x) => x.agent === 'web1')!;
        if (!expected.ok) {
          expect(after.report).toEqual(rec.report);
          expect(JSON.stringify([overlay.view(SVC, '10.0.0.1:80'), overlay.view(SVC, '10.0.0.2:80')])).toBe(views);
          return;
        }
        accepted++;
        expect(after.report).toEqual(expected.msg);
        // Whatever an agent reports, another node's real server is untouched.
        expect(overlay.view(SVC, '10.0.0.2:80').sources).toEqual({});
      },
    });
    expect(accepted).toBeGreaterThan(5);
  });
});
