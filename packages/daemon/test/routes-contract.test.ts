/**
 * The control API contract (@vsd/protocol controlRoutes) and what the daemon serves: every route a server part
 * registers is declared, and every declared route is served by some part, so neither can drift from the other.
 */
import { describe, expect, it } from 'vitest';
import { coreRoutes, createControlServer, route, type ControlRoute } from '@vsd/core';
import { controlRoutes, routeNames } from '@vsd/protocol';
import { componentFactories } from '../src/components.js';
import { haAbsentRoutes, reloadRoute } from '../src/routes.js';
import type { DaemonContext } from '../src/component.js';

const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

function servedRoutes(): ControlRoute[] {
  const ctx = { config: { ha: {}, peer: {}, agents: {}, bgp: {} } } as unknown as DaemonContext;
  const components = componentFactories.map((f) => f(ctx)).filter((c) => c !== null);
  return [
    ...coreRoutes({ store: {} as never, overlay: {} as never, dataplane: {} as never }),
    reloadRoute(async () => ({ ok: true, outcome: 'unchanged' })),
    ...haAbsentRoutes(),
    ...components.flatMap((c) => c!.routes?.() ?? []),
  ];
}

describe('control routes and the protocol table', () => {
  it('every route the daemon serves is declared, with the name it was made from', () => {
    const served = servedRoutes();
    for (const r of served) {
      const declared = Object.entries(controlRoutes).find(([, c]) => key(c) === key(r));
      expect(declared, `${key(r)} is not in @vsd/protocol controlRoutes`).toBeDefined();
      expect(r.name).toBe(declared![0]);
    }
  });

  it('every declared route is served', () => {
    const served = new Set(servedRoutes().map(key));
    expect(routeNames.filter((n) => !served.has(key(controlRoutes[n])))).toEqual([]);
  });

  it('the server refuses a route outside the contract', async () => {
    const dir = `/tmp/vsd-contract-${process.pid}-${Date.now()}`;
    const state = { services: [], generation: 0 };
    const options = {
      store: { state, generation: 0 } as never,
      overlay: {} as never,
      dataplane: {} as never,
      socket: `${dir}/vsd.sock`,
    };
    await expect(createControlServer({ ...options, extraRoutes: [{ method: 'GET', path: '/v1/undeclared', handler: () => ({}) }] })).rejects.toThrow(
      /not declared in @vsd\/protocol: GET \/v1\/undeclared/,
    );
    const server = await createControlServer(options);
    try {
      expect(() => server.addRoutes([{ method: 'POST', path: '/v1/ha', handler: () => ({}) }])).toThrow(/POST \/v1\/ha/);
      expect(() => server.addRoutes([route('bgp', () => ({}) as never)])).not.toThrow();
    } finally {
      await server.close();
    }
  });
});
