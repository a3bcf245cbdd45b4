import { afterEach, describe, expect, it } from 'vitest';
import { ControlProtocolError, createControlClient } from '@vsd/core';
import { controlRoutes } from '@vsd/protocol';
import { addServer, addService, startHarness, type Harness } from './helpers.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

describe('control API: in-process reads (ControlServer.read)', () => {
  it('answers a GET route, components included, with path parameters and the query', async () => {
    let seen: unknown = null;
    h = await startHarness({
      // A path parameter: no declared route has one, so the contract is widened for this router test.
      contract: { ...controlRoutes, agent: { method: 'GET', path: '/v1/agents/:id' } },
      extraRoutes: [{ method: 'GET', path: '/v1/agents/:id', handler: (req) => ((seen = req.via), { id: req.params.id, q: req.query.get('q') }) }],
    });
    await createControlClient({ socket: h.socket }).post('/v1/transactions', { ops: [addService(), addServer('10.0.1.1')] });
    expect(await h.server.read('/v1/agents/web%201?q=x')).toEqual({ id: 'web 1', q: 'x' });
    expect(seen).toBe('internal');
    const rs = (await h.server.read('/v1/realservers')) as { generation: number; services: unknown[] };
    expect(rs.generation).toBe(1);
    expect(rs.services).toHaveLength(1);
  });

  it('never reaches a route that changes state: POST-only paths are refused, absent ones are NO_ROUTE', async () => {
    h = await startHarness();
    const err = await h.server.read('/v1/transactions').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlProtocolError);
    expect((err as ControlProtocolError).code).toBe('VSD_ERR_METHOD_NOT_ALLOWED');
    expect(h.store.generation).toBe(0);
    const absent = await h.server.read('/v1/ha').catch((e: unknown) => e);
    expect((absent as ControlProtocolError).code).toBe('VSD_ERR_NO_ROUTE');
  });
});
