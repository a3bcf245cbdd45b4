/**
 * Control routes of peer sync: GET /v1/sync (status), GET /v1/sync/divergence (transactions a partition heal kept
 * aside), POST /v1/sync/divergence/replay and /drop with `{ "ids": [...] }` (empty or absent: every entry).
 */
import { HaNotConfiguredError, route, type ControlRoute } from '@vsd/core';
import type { PeerSync } from '@vsd/ha';

export function syncRoutes(current: () => PeerSync | null): ControlRoute[] {
  const sync = (): PeerSync => {
    const s = current();
    if (!s) throw new HaNotConfiguredError('peer sync');
    return s;
  };
  return [
    route('sync', () => sync().status()),
    route('sync.divergence', () => ({ entries: [...sync().divergence()] })),
    // The body schema (@vsd/protocol divergenceIdsBody) has run: `ids` is a checked list.
    route('sync.divergence.replay', async ({ body }) => ({ results: await sync().replayDivergence(body.ids) })),
    route('sync.divergence.drop', async ({ body }) => ({ dropped: await sync().dropDivergence(body.ids) })),
  ];
}
