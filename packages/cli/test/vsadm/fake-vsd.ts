/** An in-process stand-in for vsd's control API: the real transaction code (parseOps/applyOps), no counters. */
import {
  applyOps,
  ControlRequestError,
  ControlUnreachableError,
  desiredStateSchema,
  parseOps,
  typedClient,
  VsdError,
  type ControlClient,
  type DesiredState,
} from '@vsd/core';

export interface FakeVsd extends ControlClient {
  state: DesiredState;
  transactions: number;
}

export function createFakeVsd(): FakeVsd {
  const fake = typedClient({
    where: 'fake',
    state: desiredStateSchema.parse({}) as DesiredState,
    transactions: 0,
    async get<T>(path: string): Promise<T> {
      if (path === '/v1/state') return structuredClone(fake.state) as T;
      if (path === '/v1/status') return { dataplane: 'none', info: { version: '1.2.1', connTableSize: 4096 }, services: [] } as T;
      if (path === '/v1/connections') return { connections: [] } as T;
      throw new ControlRequestError(404, { code: 'VSD_ERR_NOT_FOUND', message: path });
    },
    async post<T>(path: string, body?: unknown): Promise<T> {
      if (path !== '/v1/transactions') throw new ControlRequestError(404, { code: 'VSD_ERR_NOT_FOUND', message: path });
      try {
        const ops = parseOps((body as { ops: unknown }).ops);
        fake.state = { ...applyOps(fake.state, ops), generation: fake.state.generation + 1 };
        fake.transactions++;
        return { generation: fake.state.generation } as T;
      } catch (err) {
        if (err instanceof VsdError) throw new ControlRequestError(400, err.toJSON());
        throw err;
      }
    },
  } as Omit<FakeVsd, 'call'>);
  return fake;
}

export function unreachableClient(where: string): ControlClient {
  const fail = (): never => {
    throw new ControlUnreachableError(where, 'ENOENT');
  };
  return typedClient({ where, get: async () => fail(), post: async () => fail() });
}
