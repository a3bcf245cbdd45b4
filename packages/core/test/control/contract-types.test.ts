/**
 * The wire declarations of @vsd/protocol against core's own types: the desired-state document the zod schemas
 * produce and the one the contract declares are assignable both ways, and a typed call answers the declared reply.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createControlClient, type ConnectionEntry, type DesiredState, type ServiceStatus } from '@vsd/core';
import type { DesiredStateDoc, Reply } from '@vsd/protocol';
import { startHarness } from './helpers.js';

describe('protocol declarations match core', () => {
  it('DesiredState and DesiredStateDoc are the same shape', () => {
    expectTypeOf<DesiredState>().toMatchTypeOf<DesiredStateDoc>();
    expectTypeOf<DesiredStateDoc>().toMatchTypeOf<DesiredState>();
    expectTypeOf<Reply<'status'>['services']>().toEqualTypeOf<ServiceStatus[]>();
    expectTypeOf<Reply<'connections'>['connections']>().toEqualTypeOf<ConnectionEntry[]>();
  });

  it('client.call answers the declared reply, text routes as text', async () => {
    const h = await startHarness();
    try {
      const client = createControlClient({ socket: h.socket });
      const status = await client.call('status');
      expectTypeOf(status).toEqualTypeOf<Reply<'status'>>();
      expect(status).toMatchObject({ dataplane: 'none', generation: 0, services: [] });
      expect(await client.call('transactions', { ops: [{ op: 'zero' }] })).toEqual({ generation: 1 });
      const metrics = await client.call('metrics');
      expectTypeOf(metrics).toEqualTypeOf<string>();
      expect(metrics).toContain('vsd_generation 1');
    } finally {
      await h.close();
    }
  });
});
