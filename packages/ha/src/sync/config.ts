/**
 * The `peer:` section of vsd.yaml: where this dispatcher listens for its peer, where the peer listens, and the
 * pre-shared key both use. Parsed into {@link PeerConfig}: camelCase, durations in milliseconds, frozen.
 */
import { deepFreeze, secondsToMs, strictObject } from '@vsd/core';
import { z } from 'zod';

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'must be HOST:PORT ([IPv6]:PORT)');

export const peerConfigSchema = strictObject({
  listen: hostPort.default('0.0.0.0:9181'),
  /** The peer's listener; absent = only accept connections. */
  address: hostPort.optional(),
  key_file: z.string().min(1),
  /** This node's name in the handshake and logs (default: host name and listen address). */
  id: z.string().min(1).max(200).optional(),
  /** Interval of persistence-template pushes, seconds. */
  persist_interval: z.number().positive().max(60).default(0.2),
  /**
   * Largest frame accepted from the authenticated peer, bytes: the whole replicated table must fit (about 130 bytes
   * per real server); before authentication the limit is 4 KiB whatever this says.
   */
  max_frame_bytes: z
    .number()
    .int()
    .min(65_536)
    .max(1024 * 1024 * 1024)
    .default(32 * 1024 * 1024),
  /** Seconds a connection has to complete the key handshake. */
  handshake_timeout: z.number().positive().max(60).default(3),
  /** Unauthenticated connections held at once (two more are kept for the peer's own address). */
  max_unauthenticated: z.number().int().min(1).max(1024).default(8),
}).transform(
  (p): PeerConfig =>
    deepFreeze({
      listen: p.listen,
      ...(p.address !== undefined ? { address: p.address } : {}),
      keyFile: p.key_file,
      ...(p.id !== undefined ? { id: p.id } : {}),
      persistIntervalMs: secondsToMs(p.persist_interval),
      maxFrameBytes: p.max_frame_bytes,
      handshakeTimeoutMs: secondsToMs(p.handshake_timeout),
      maxUnauthenticated: p.max_unauthenticated,
    }),
);

export interface PeerConfig {
  readonly listen: string;
  readonly address?: string;
  readonly keyFile: string;
  readonly id?: string;
  readonly persistIntervalMs: number;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly maxUnauthenticated: number;
}

export function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}
