import { describe, expect, it } from 'vitest';
import { emptyState } from '@vsd/core';
import { FrameReader, FrameTooLargeError, encodeFrame } from '../../packages/ha/src/sync/frame.js';
import { decode, decodeHandshake, encode, HANDSHAKE_FRAME_LIMIT } from '../../packages/ha/src/sync/protocol.js';
import { deepNest, mutateBytes, mutateJson, randomJson } from './lib/mutate.js';
import { fuzz } from './lib/run.js';

// Peer-sync frames (packages/ha/src/sync/frame.ts + protocol.ts): a byte stream from whoever reaches the peer port.
const svc = { protocol: 'tcp', address: '10.77.0.100', port: 80, scheduler: 'wlc' };
const rs = { address: '10.77.0.13', port: 80, forwarding: 'masq', weight: 1 };
const state = { ...emptyState(), generation: 4, services: [{ ...svc, realServers: [rs] }] };
const MESSAGES: unknown[] = [
  { v: 2, t: 'hello', id: 'lvs1', nonce: 'n'.repeat(32) },
  { v: 2, t: 'auth', id: 'lvs2', nonce: 'm'.repeat(32), proof: 'p'.repeat(64) },
  { v: 2, t: 'auth-ok', proof: 'p'.repeat(64) },
  { v: 2, t: 'announce', generation: 4, hash: 'h'.repeat(64) },
  {
    v: 2,
    t: 'tx',
    generation: 5,
    ops: [
      { op: 'add-service', service: svc },
      { op: 'add-server', service: svc, server: rs },
    ],
    hash: 'h'.repeat(64),
    at: 1_700_000_000_000,
  },
  {
    v: 2,
    t: 'snapshot',
    state,
    hash: 'h'.repeat(64),
    history: [
      [3, 'a'.repeat(64)],
      [4, 'b'.repeat(64)],
    ],
  },
  { v: 2, t: 'want' },
  { v: 2, t: 'want-changes', since: 2 },
  { v: 2, t: 'changes', since: 2, upTo: 5, keys: ['service|tcp 10.77.0.100:80'] },
  { v: 2, t: 'persist', entries: [{ service: 'tcp 10.77.0.100:80', client: '192.0.2.1', dest: '10.77.0.13:80', expiresAt: 1_700_000_000_000 }] },
];
const SEEDS = MESSAGES.map((m) => ({ json: m }));
type Input = { json: unknown } | { stream: Uint8Array };

function stream(i: Input): Buffer {
  return 'stream' in i ? Buffer.from(i.stream) : encodeFrame(JSON.stringify(i.json));
}

describe('fuzz: peer-sync frames', () => {
  it('the frame reader and both decoders never throw but FrameTooLargeError; accepted messages round-trip', async () => {
    let accepted = 0;
    await fuzz<Input>({
      name: 'peer-frames',
      seeds: SEEDS,
      mutate(rng, s, corpus) {
        if ('json' in s && rng.chance(0.05)) return { stream: new Uint8Array(encodeFrame(deepNest(rng, JSON.stringify(s.json)))) };
        if ('json' in s && rng.chance(0.6)) return { json: mutateJson(rng, s.json) };
        // Several frames back to back, one of them damaged at the byte level (length prefix included).
        const frames = [stream(s), ...Array.from({ length: rng.int(3) }, () => stream(rng.pick(corpus)))];
        const k = rng.int(frames.length);
        frames[k] = Buffer.from(mutateBytes(rng, frames[k]!));
        return { stream: new Uint8Array(Buffer.concat(frames)) };
      },
      random: (rng) => (rng.chance(0.5) ? { stream: rng.bytes(rng.int(500)) } : { json: randomJson(rng) }),
      serialize: (i) => stream(i),
      check(input) {
        const bytes = stream(input);
        for (const limit of [HANDSHAKE_FRAME_LIMIT, 1 << 20]) {
          const reader = new FrameReader(limit);
          // Cut where TCP might: the reader must not care.
          for (let at = 0; at < bytes.length; at += 1 + (at % 97)) reader.push(bytes.subarray(at, at + 1 + (at % 97)));
          for (;;) {
            let frame: Buffer | null;
            try {
              frame = reader.next();
            } catch (err) {
              expect(err).toBeInstanceOf(FrameTooLargeError);
              break;
            }
            if (frame === null) break;
            if (frame.length === 0) continue;
            const h = decodeHandshake(frame);
            if (typeof h !== 'string') expect(decodeHandshake(encode(h))).toEqual(h);
            const m = decode(frame);
            if (typeof m === 'string') continue;
            accepted++;
            expect(decode(encode(m as never))).toEqual(m);
          }
        }
      },
    });
    expect(accepted).toBeGreaterThan(100);
  });
});
