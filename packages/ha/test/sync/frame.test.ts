import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, FrameTooLargeError, HEARTBEAT } from '../../src/sync/frame.js';

describe('peer-sync framing', () => {
  it('cuts frames split anywhere, heartbeats included', () => {
    const bytes = Buffer.concat([encodeFrame('{"a":1}'), HEARTBEAT, encodeFrame('é'.repeat(300))]);
    for (const step of [1, 3, 4, 5, 64, bytes.length]) {
      const r = new FrameReader(4096);
      const out: string[] = [];
      for (let i = 0; i < bytes.length; i += step) {
        r.push(bytes.subarray(i, i + step));
        for (let f = r.next(); f; f = r.next()) out.push(f.toString());
      }
      expect(out).toEqual(['{"a":1}', '', 'é'.repeat(300)]);
      expect(r.pending).toBe(0);
    }
  });

  it('refuses a length above the limit at the header, before any payload arrives', () => {
    const r = new FrameReader(4096);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(64 * 1024 * 1024);
    r.push(head);
    expect(() => r.next()).toThrow(FrameTooLargeError);
  });

  it('applies a raised limit to the frames after the one that raised it', () => {
    const r = new FrameReader(16);
    r.push(Buffer.concat([encodeFrame('small'), encodeFrame('x'.repeat(100))]));
    expect(r.next()!.toString()).toBe('small');
    r.limit = 1000;
    expect(r.next()!.length).toBe(100);
  });
});
