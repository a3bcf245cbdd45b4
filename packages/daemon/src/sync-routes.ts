/**
 * Control routes of peer sync: GET /v1/sync (status), GET /v1/sync/divergence (transactions a partition heal kept
 * aside), POST /v1/sync/divergence/replay and /drop with `{ "ids": [...] }` (empty or absent: every entry).
 */
import { z } from 'zod';
import { HaNotConfiguredError, parseWith, type ControlRoute } from '@vsd/core';
import type { PeerSync } from '@vsd/ha';

const idsBody = z.object({ ids: z.array(z.string().min(1).max(64)).max(1000).default([]) }).strict();

export function syncRoutes(current: () => PeerSync | null): ControlRoute[] {
  const sync = (): PeerSync => {
    const s = current();
    if (!s) throw new HaNotConfiguredError('peer sync');
    return s;
  };
  const ids = (body: unknown): string[] => parseWith(idsBody, body ?? {}, 'body').ids;
  return [
    { method: 'GET', path: '/v1/sync', handler: () => sync().status() },
    { method: 'GET', path: '/v1/sync/divergence', handler: () => ({ entries: sync().divergence() }) },
    { method: 'POST', path: '/v1/sync/divergence/replay', handler: async (req) => ({ results: await sync().replayDivergence(ids(req.body)) }) },
    { method: 'POST', path: '/v1/sync/divergence/drop', handler: async (req) => ({ dropped: await sync().dropDivergence(ids(req.body)) }) },
  ];
}
