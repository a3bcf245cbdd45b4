import { statSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient, ControlRequestError, createControlServer, createNoneDataplane, StateStore, WeightOverlay } from '@vsd/core';
import { controlRoutes } from '@vsd/protocol';
import { addServer, addService, raw, startHarness, svc, type Harness } from './helpers.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

describe('control API: transactions', () => {
  it('applies a valid transaction and answers with the new generation', async () => {
    h = await startHarness();
    const client = createControlClient({ socket: h.socket });
    const r = await client.post<{ generation: number }>('/v1/transactions', { ops: [addService(), addServer('10.0.1.1')] });
    expect(r.generation).toBe(1);
    const state = await client.get<{ services: Array<{ realServers: unknown[] }> }>('/v1/state');
    expect(state.services).toHaveLength(1);
    expect(state.services[0]!.realServers).toHaveLength(1);
  });

  it('refuses malformed JSON with 400 and changes nothing', async () => {
    h = await startHarness();
    const r = await raw({ socket: h.socket }, 'POST', '/v1/transactions', '{"ops": [', { 'content-type': 'application/json' });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('VSD_ERR_BAD_REQUEST');
    expect(r.json.error.message).toMatch(/malformed JSON/);
    expect(h.store.generation).toBe(0);
  });

  it('refuses an unknown field naming it, with nothing changed', async () => {
    h = await startHarness();
    const client = createControlClient({ socket: h.socket });
    const err = await client
      .post('/v1/transactions', { ops: [addService(), { ...addServer('10.0.1.1'), server: { address: '10.0.1.1', port: 80, wieght: 3 } }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlRequestError);
    expect((err as ControlRequestError).status).toBe(400);
    expect((err as ControlRequestError).code).toBe('VSD_ERR_VALIDATION');
    expect((err as ControlRequestError).details.field).toBe('ops.1.server.wieght');
    expect(h.store.generation).toBe(0);
    expect(h.store.state.services).toEqual([]);
  });

  it('refuses an unknown envelope field', async () => {
    h = await startHarness();
    const r = await raw({ socket: h.socket }, 'POST', '/v1/transactions', JSON.stringify({ ops: [addService()], opz: [] }));
    expect(r.status).toBe(400);
    expect(r.json.error.details.field).toBe('body.opz');
    expect(h.store.generation).toBe(0);
  });

  it('refuses an out-of-range weight naming field and value', async () => {
    h = await startHarness();
    const r = await raw({ socket: h.socket }, 'POST', '/v1/transactions', JSON.stringify({ ops: [addService(), addServer('10.0.1.1', { weight: 65536 })] }));
    expect(r.status).toBe(400);
    expect(r.json.error.details).toMatchObject({ field: 'ops.1.server.weight', value: 65536 });
    expect(h.store.state.services).toEqual([]);
  });

  it('maps store errors to 404 and 409 with the errno', async () => {
    h = await startHarness();
    const client = createControlClient({ socket: h.socket });
    await client.post('/v1/transactions', { ops: [addService()] });
    const dup = (await client.post('/v1/transactions', { ops: [addService()] }).catch((e: unknown) => e)) as ControlRequestError;
    expect([dup.status, dup.code, dup.errno]).toEqual([409, 'VSD_ERR_SERVICE_EXISTS', 'EEXIST']);
    const missing = (await client
      .post('/v1/transactions', { ops: [{ op: 'delete-service', service: { ...svc, port: 81 } }] })
      .catch((e: unknown) => e)) as ControlRequestError;
    expect([missing.status, missing.code, missing.errno]).toEqual([404, 'VSD_ERR_SERVICE_NOT_FOUND', 'ESRCH']);
    const sched = (await client
      .post('/v1/transactions', { ops: [{ op: 'add-service', service: { ...svc, port: 82, scheduler: 'nosuch' } }] })
      .catch((e: unknown) => e)) as ControlRequestError;
    expect(sched.status).toBe(404);
    expect(h.store.generation).toBe(1);
  });

  it('refuses an oversized body with 413', async () => {
    h = await startHarness({ maxTransactionBytes: 1000 });
    const r = await raw({ socket: h.socket }, 'POST', '/v1/transactions', Buffer.alloc(5000, 0x20));
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('VSD_ERR_BODY_TOO_LARGE');
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    h = await startHarness();
    expect((await raw({ socket: h.socket }, 'GET', '/v1/nothing')).json.error.code).toBe('VSD_ERR_NO_ROUTE');
    const r = await raw({ socket: h.socket }, 'POST', '/v1/state', '{}');
    expect(r.status).toBe(405);
  });
});

describe('control API: reads', () => {
  it('reports status, real servers with effective weights and Prometheus metrics', async () => {
    h = await startHarness();
    const client = createControlClient({ socket: h.socket });
    await client.post('/v1/transactions', { ops: [addService(), addServer('10.0.1.1', { weight: 4 }), addServer('10.0.1.2')] });
    h.overlay.set('health', 'tcp 10.0.0.1:80', '10.0.1.1:8080', { factor: 0.5, reason: 'test' });
    const status = await client.get<{ dataplane: string; generation: number; services: unknown[] }>('/v1/status');
    expect(status).toMatchObject({ dataplane: 'none', generation: 1 });
    expect(status.services).toHaveLength(1);
    const rs = await client.get<{ services: Array<{ realServers: Array<{ key: string; weight: number; effectiveWeight: number; sources: object }> }> }>(
      '/v1/realservers',
    );
    expect(rs.services[0]!.realServers[0]).toMatchObject({ key: '10.0.1.1:8080', weight: 4, effectiveWeight: 2, sources: { health: { factor: 0.5 } } });
    const m = await raw({ socket: h.socket }, 'GET', '/metrics');
    expect(m.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expect(m.text).toContain('vsd_real_server_effective_weight{service="tcp 10.0.0.1:80",real_server="10.0.1.1:8080"} 2');
    expect(m.text).toContain('vsd_real_server_weight{service="tcp 10.0.0.1:80",real_server="10.0.1.1:8080"} 4');
    expect(m.text).toContain('# TYPE vsd_service_connections_total counter');
    expect(m.text).toContain('vsd_generation 1');
  });

  it('serves routes registered by components, and removes them again', async () => {
    h = await startHarness({
      // A path parameter: no declared route has one, so the contract is widened for this router test.
      contract: { ...controlRoutes, agent: { method: 'GET', path: '/v1/agents/:id' } },
      extraRoutes: [{ method: 'GET', path: '/v1/ha', handler: () => ({ state: 'MASTER' }) }],
    });
    const client = createControlClient({ socket: h.socket });
    expect(await client.get('/v1/ha')).toEqual({ state: 'MASTER' });
    const remove = h.server.addRoutes([{ method: 'GET', path: '/v1/agents/:id', handler: ({ params }) => ({ id: params.id }) }]);
    expect(await client.get('/v1/agents/web1')).toEqual({ id: 'web1' });
    remove();
    expect((await raw({ socket: h.socket }, 'GET', '/v1/agents/web1')).status).toBe(404);
    expect(() => h!.server.addRoutes([{ method: 'GET', path: '/v1/ha', handler: () => 1 }])).toThrow(/twice/);
  });
});

describe('control API: socket', () => {
  it('creates the socket with mode 0600 and removes it on close', async () => {
    h = await startHarness();
    expect(statSync(h.socket).mode & 0o777).toBe(0o600);
    await h.server.close(100);
    expect(existsSync(h.socket)).toBe(false);
  });

  it('refuses to start when the socket path is a foreign file, and leaves the file alone', async () => {
    h = await startHarness();
    const path = join(h.dir, 'foreign.sock');
    writeFileSync(path, 'not a socket');
    const err = await createControlServer({ store: h.store, overlay: h.overlay, dataplane: createNoneDataplane(), socket: path }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('VSD_ERR_CONTROL_SOCKET');
    expect((err as Error).message).toMatch(/not a socket/);
    expect(statSync(path).isFile()).toBe(true);
  });

  it('refuses a socket another process is listening on', async () => {
    h = await startHarness();
    const err = await createControlServer({ store: h.store, overlay: h.overlay, dataplane: createNoneDataplane(), socket: h.socket }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/another process is listening/);
  });

  it('replaces a stale socket nobody listens on', async () => {
    h = await startHarness();
    const path = join(h.dir, 'stale.sock');
    // A process killed while listening leaves its socket file behind, with nobody listening on it.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise<void>((r) => child.once('exit', () => r()));
    expect(statSync(path).isSocket()).toBe(true);
    const store = await StateStore.open({ path: null });
    const server = await createControlServer({ store, overlay: new WeightOverlay(), dataplane: createNoneDataplane(), socket: path });
    expect((await createControlClient({ socket: path }).get<{ generation: number }>('/v1/state')).generation).toBe(0);
    await server.close(100);
  });
});

describe('control API: TCP listener', () => {
  it('requires the bearer token', async () => {
    const tokenFile = join(await import('node:os').then((os) => os.tmpdir()), `vsd-token-${process.pid}`);
    writeFileSync(tokenFile, 's3cret-token\n');
    h = await startHarness({ listen: '127.0.0.1:0', tokenFile });
    const tcp = { host: '127.0.0.1', port: h.server.tcpAddress!.port };
    expect((await raw(tcp, 'GET', '/v1/state')).status).toBe(401);
    expect((await raw(tcp, 'GET', '/v1/state', undefined, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await raw(tcp, 'GET', '/v1/state', undefined, { authorization: 'Bearer s3cret-token-longer' })).status).toBe(401);
    const ok = await raw(tcp, 'GET', '/v1/state', undefined, { authorization: 'Bearer s3cret-token' });
    expect(ok.status).toBe(200);
    const client = createControlClient({ url: `http://127.0.0.1:${tcp.port}`, token: 's3cret-token' });
    expect((await client.post<{ generation: number }>('/v1/transactions', { ops: [addService()] })).generation).toBe(1);
    // The unix socket needs no token: its file mode is the access control.
    expect((await raw({ socket: h.socket }, 'GET', '/v1/state')).status).toBe(200);
  });

  it('refuses a TCP listener without a token file', async () => {
    const store = await StateStore.open({ path: null });
    const err = await createControlServer({
      store,
      overlay: new WeightOverlay(),
      dataplane: createNoneDataplane(),
      socket: '/nonexistent/never.sock',
      listen: '127.0.0.1:0',
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/needs a token file/);
  });
});
