import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseOps, StateCorruptError, StateStore, VsdError, type StateChange } from '@vsd/core';

const svc = (port: number) => ({ protocol: 'tcp', address: '10.0.0.1', port });
const addService = (port: number) => parseOps([{ op: 'add-service', service: { ...svc(port), scheduler: 'rr' } }]);

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vsd-store-'));
  path = join(dir, 'state.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('StateStore', () => {
  it('bumps the generation per transaction and persists the whole document', async () => {
    const store = await StateStore.open({ path });
    expect(store.generation).toBe(0);
    const change = await store.apply(addService(80), 'api');
    expect(change).toMatchObject({ generation: 1, origin: 'api' });
    await store.apply(addService(81), 'config');
    const onDisk = JSON.parse(readFileSync(path, 'utf8'));
    expect(onDisk.generation).toBe(2);
    expect(onDisk.services).toHaveLength(2);
    const reopened = await StateStore.open({ path });
    expect(reopened.state).toEqual(store.state);
  });

  it('changes nothing (memory, file, feed) when a transaction fails', async () => {
    const store = await StateStore.open({ path });
    await store.apply(addService(80));
    const fileBefore = readFileSync(path, 'utf8');
    const seen: StateChange[] = [];
    store.subscribe((c) => seen.push(c));
    const err = await store.apply([...addService(81), ...addService(80)]).catch((e: unknown) => e);
    expect((err as VsdError).code).toBe('VSD_ERR_SERVICE_EXISTS');
    expect(store.generation).toBe(1);
    expect(store.state.services).toHaveLength(1);
    expect(readFileSync(path, 'utf8')).toBe(fileBefore);
    expect(seen).toEqual([]);
  });

  it('lets a validator refuse a transaction with nothing changed', async () => {
    const store = await StateStore.open({ path });
    const remove = store.addValidator((next) => {
      if (next.services.length > 1) throw new VsdError('VSD_ERR_VALIDATION', 'only one service here');
    });
    await store.apply(addService(80));
    await expect(store.apply(addService(81))).rejects.toThrow(/only one service/);
    expect(store.generation).toBe(1);
    remove();
    await store.apply(addService(81));
    expect(store.generation).toBe(2);
  });

  it('publishes committed changes in order on the change feed, and replays them with since()', async () => {
    const store = await StateStore.open({ path: null, historySize: 3 });
    const seen: number[] = [];
    store.subscribe((c) => seen.push(c.generation));
    // Issued concurrently, applied one at a time: each sees the previous one's result.
    await Promise.all([80, 81, 82, 83, 84].map((p) => store.apply(addService(p))));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(store.since(5)).toEqual([]);
    expect(store.since(3)!.map((c) => c.generation)).toEqual([4, 5]);
    expect(store.since(2)!.map((c) => c.generation)).toEqual([3, 4, 5]);
    // History only reaches back 3 transactions: a peer further behind needs a snapshot.
    expect(store.since(1)).toBeNull();
  });

  it('keeps working when a listener throws', async () => {
    const store = await StateStore.open({ path: null });
    store.subscribe(() => {
      throw new Error('listener bug');
    });
    await store.apply(addService(80));
    expect(store.generation).toBe(1);
  });

  it('install() takes the generation of the installed document', async () => {
    const store = await StateStore.open({ path });
    await store.apply(addService(80));
    const peer = { ...structuredClone(store.state), generation: 42 };
    await store.install(peer, 'peer');
    expect(store.generation).toBe(42);
    expect(JSON.parse(readFileSync(path, 'utf8')).generation).toBe(42);
  });

  it('fails loudly on a corrupt state file, naming the path, and keeps the file', async () => {
    writeFileSync(path, '{"version":1,"generation":3,"services":[');
    const err = await StateStore.open({ path }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateCorruptError);
    expect((err as Error).message).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe('{"version":1,"generation":3,"services":[');
  });

  it('fails loudly on a state file that is JSON but not a valid document, naming the field', async () => {
    const doc = { version: 1, generation: 1, services: [{ ...svc(80), scheduler: 'rr', realServers: [{ address: '10.0.1.1', port: 80, weight: -1 }] }] };
    writeFileSync(path, JSON.stringify(doc));
    const err = await StateStore.open({ path }).catch((e: unknown) => e);
    expect((err as VsdError).code).toBe('VSD_ERR_STATE_CORRUPT');
    expect((err as Error).message).toMatch(/state\.services\.0\.realServers\.0\.weight/);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(doc);
  });

  it('rejects a transaction it cannot persist and keeps the previous document', async () => {
    const store = await StateStore.open({ path });
    await store.apply(addService(80));
    // A non-empty directory where the state file goes makes the final rename fail.
    rmSync(path);
    mkdirSync(join(path, 'x'), { recursive: true });
    const err = await store.apply(addService(81)).catch((e: unknown) => e);
    expect((err as VsdError).code).toBe('VSD_ERR_STATE_WRITE');
    expect(store.generation).toBe(1);
    expect(store.state.services).toHaveLength(1);
    rmSync(path, { recursive: true });
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await store.apply(addService(81));
    expect(JSON.parse(readFileSync(path, 'utf8')).generation).toBe(2);
  });
});
