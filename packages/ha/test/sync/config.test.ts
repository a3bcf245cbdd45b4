import { describe, expect, it } from 'vitest';
import { peerConfigSchema } from '../../src/sync/config.js';

describe('the peer: section', () => {
  it('parses into camelCase options with its durations in milliseconds, frozen', () => {
    const p = peerConfigSchema.parse({ key_file: '/etc/vsd/peer.key', address: '10.77.0.12:9181', persist_interval: 0.05, handshake_timeout: 1.5 });
    expect(p).toEqual({
      listen: '0.0.0.0:9181',
      address: '10.77.0.12:9181',
      keyFile: '/etc/vsd/peer.key',
      persistIntervalMs: 50,
      maxFrameBytes: 32 * 1024 * 1024,
      handshakeTimeoutMs: 1500,
      maxUnauthenticated: 8,
    });
    expect(Object.isFrozen(p)).toBe(true);
    expect(peerConfigSchema.parse({ key_file: '/k' })).toMatchObject({ persistIntervalMs: 200, handshakeTimeoutMs: 3000 });
  });

  it("keeps the file's keys in its errors, with the closest known one", () => {
    const r = peerConfigSchema.safeParse({ key_file: '/k', persist_intervl: 1 });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['persist_intervl'], message: expect.stringMatching(/unknown key, did you mean persist_interval\?/) });
  });
});
