import { afterEach, describe, expect, it } from 'vitest';
import { createServer, connect, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { StateStore, type Dataplane, type PersistenceEntry } from '@vsd/core';
import { createPeerSync, type PeerSync } from '../../src/sync/index.js';
import { addService, svc } from './services.js';

const KEY = Buffer.from('0123456789abcdef-shared-key');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

interface Node {
  store: StateStore;
  sync: PeerSync;
  port: number;
  lines: Array<Record<string, unknown>>;
}

async function node(
  id: string,
  opts: {
    peerPort?: number;
    key?: Buffer;
    dataplane?: Partial<Dataplane>;
    store?: StateStore;
    listenPort?: number;
    paths?: { divergence: string; unsynced: string };
  } = {},
): Promise<Node> {
  const store = opts.store ?? (await StateStore.open({ path: null }));
  const { logger, lines } = capture();
  const sync = createPeerSync({
    id,
    key: opts.key ?? KEY,
    listen: { host: '127.0.0.1', port: opts.listenPort ?? 0 },
    divergencePath: opts.paths?.divergence,
    unsyncedPath: opts.paths?.unsynced,
    peer: opts.peerPort ? `127.0.0.1:${opts.peerPort}` : undefined,
    store,
    dataplane: opts.dataplane as Dataplane | undefined,
    logger,
    persistIntervalMs: 20,
  });
  const { port } = await sync.start();
  cleanups.push(() => sync.stop());
  return { store, sync, port, lines };
}

const rs = (address: string, port: number) => ({
  address,
  port,
  weight: 1,
  forwarding: 'masq' as const,
  upperThreshold: 0,
  lowerThreshold: 0,
  tunnel: null,
});

async function until(what: string, probe: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('peer sync', () => {
  // The 100 ms target is asserted between real processes by test/netns/ha-pair.test.ts; here the bound only catches a
  // replication that waits for a timer instead of being pushed, with room for a loaded host running tests in parallel.
  it('pushes transactions from the master to the backup at once, in order and with their generation', async () => {
    const b = await node('lvs2');
    const a = await node('lvs1', { peerPort: b.port });
    a.sync.setRole('master');
    b.sync.setRole('backup', '10.77.0.11');
    await until('link', () => a.sync.status().inSync && b.sync.status().connected);
    const t0 = performance.now();
    await a.store.apply(addService(80));
    await a.store.apply([{ op: 'edit-service', service: { ...svc(80), scheduler: 'wlc' } }]);
    await until('replication', () => b.store.generation === a.store.generation);
    const ms = performance.now() - t0;
    process.stdout.write(`peer sync: two transactions visible on the backup after ${ms.toFixed(1)} ms\n`);
    expect(ms).toBeLessThan(1000);
    expect(b.store.state.services).toEqual(a.store.state.services);
    expect(b.store.state.services[0]!.scheduler).toBe('wlc');
    await until('ack', () => a.sync.status().inSync);
  });

  it('refuses changes on the BACKUP with a message naming the master', async () => {
    const b = await node('lvs2');
    b.sync.setRole('backup', '10.77.0.11');
    await expect(b.store.apply(addService(81))).rejects.toMatchObject({ code: 'VSD_ERR_NOT_MASTER', message: expect.stringContaining('10.77.0.11') });
    expect(b.store.generation).toBe(0);
  });

  it('lets a peer restarted with an empty state catch up', async () => {
    const a = await node('lvs1');
    a.sync.setRole('master');
    for (let p = 1; p <= 5; p++) await a.store.apply(addService(p));
    const b = await node('lvs2', { peerPort: a.port });
    b.sync.setRole('backup');
    await until('catch-up', () => b.store.generation === 5);
    expect(b.store.state.services.map((s) => ('port' in s ? s.port : 0))).toEqual([1, 2, 3, 4, 5]);
  });

  async function partitioned(): Promise<{ a: Node; b: Node; heal(): void }> {
    const b = await node('lvs2');
    // lvs1 reaches lvs2 through a relay the test can cut: a network partition while both processes keep running.
    const relay = await cuttableRelay(b.port);
    const a = await node('lvs1', { peerPort: relay.port });
    a.sync.setRole('master');
    b.sync.setRole('backup');
    await a.store.apply(addService(80));
    await until('replication', () => b.store.generation === 1 && a.sync.status().inSync);
    relay.cut();
    await until('partition', () => !a.sync.status().connected && !b.sync.status().connected);
    b.sync.setRole('master'); // split brain: both accept changes
    return { a, b, heal: () => relay.heal() };
  }

  it("heals a partition by re-applying the losing side's changes that do not conflict, on both sides", async () => {
    const { a, b, heal } = await partitioned();
    // lvs1 makes more changes, so its generation wins.
    await a.store.apply(addService(1001));
    await a.store.apply(addService(1002));
    await a.store.apply(addService(1003));
    await b.store.apply(addService(2001));
    await b.store.apply([{ op: 'add-server', service: svc(80), server: rs('10.77.0.31', 80) }]);
    heal();
    await until('convergence', () => a.sync.status().inSync && b.sync.status().inSync && a.store.generation === 6, 8000);
    expect(b.store.state.services).toEqual(a.store.state.services);
    const ports = a.store.state.services.map((s) => ('port' in s ? s.port : 0)).sort((x, y) => x - y);
    expect(ports).toEqual([80, 1001, 1002, 1003, 2001]);
    expect(a.store.state.services.find((s) => 'port' in s && s.port === 80)!.realServers.map((r) => r.address)).toEqual(['10.77.0.31']);
    const div = b.lines.find((l) => l.code === 'VSD_DIVERGENCE');
    expect(div).toBeDefined();
    expect((div!.reapplied as unknown[]).length).toBe(2);
    expect(div!.kept).toEqual([]);
    expect(b.sync.divergence()).toEqual([]);
    expect(a.lines.find((l) => l.code === 'VSD_DIVERGENCE')).toBeUndefined();
  });

  it('keeps a conflicting change of the losing side in the divergence record, and replays it on request', async () => {
    const { a, b, heal } = await partitioned();
    await a.store.apply([{ op: 'edit-service', service: { ...svc(80), scheduler: 'wlc' } }]);
    await a.store.apply(addService(1001));
    await a.store.apply(addService(1002));
    await b.store.apply([{ op: 'edit-service', service: { ...svc(80), scheduler: 'sh' } }]); // conflicts
    await b.store.apply(addService(2001)); // does not
    heal();
    await until('convergence', () => a.sync.status().inSync && b.sync.status().inSync && a.store.generation === 5, 8000);
    expect(b.store.state.services).toEqual(a.store.state.services);
    const port80 = (st: StateStore) => st.state.services.find((s) => 'port' in s && s.port === 80)!;
    expect(port80(a.store).scheduler).toBe('wlc');
    expect(a.store.state.services.some((s) => 'port' in s && s.port === 2001)).toBe(true);
    const kept = b.sync.divergence();
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatchObject({ generation: 2, origin: 'api', reason: expect.stringContaining('service|tcp 10.77.0.100:80') });
    expect(kept[0]!.keys[0]).toMatchObject({ key: 'service|tcp 10.77.0.100:80', ours: { scheduler: 'sh' }, theirs: { scheduler: 'wlc' } });
    expect(b.sync.status().divergenceEntries).toBe(1);

    // The operator takes our version: one call, on the node that kept it (a BACKUP too), and it reaches the peer.
    b.sync.setRole('backup');
    expect(b.sync.status().inSync).toBe(true);
    const r = await b.sync.replayDivergence([]);
    expect(r).toEqual([{ id: kept[0]!.id, ok: true, generation: 6 }]);
    await until('replayed on both', () => a.store.generation === 6 && a.sync.status().inSync && b.sync.status().inSync);
    expect(port80(a.store).scheduler).toBe('sh');
    expect(b.sync.divergence()).toEqual([]);
  });

  it('keeps the changes of a node restarted during the partition (unsynced mark), key by key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-sync-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const paths = { state: join(dir, 'state.json'), divergence: join(dir, 'state.json.divergence.json'), unsynced: join(dir, 'state.json.unsynced.json') };
    const open = () => StateStore.open({ path: paths.state });
    const bPort = await freePort();
    const b1 = await node('lvs2', { store: await open(), listenPort: bPort, paths });
    const relay = await cuttableRelay(bPort);
    const a = await node('lvs1', { peerPort: relay.port });
    a.sync.setRole('master');
    b1.sync.setRole('backup');
    await a.store.apply(addService(80));
    await until('replication', () => b1.store.generation === 1 && a.sync.status().inSync);
    relay.cut();
    await until('partition', () => !a.sync.status().connected && !b1.sync.status().connected);
    b1.sync.setRole('master');
    await b1.store.apply(addService(2001));
    expect(existsSync(paths.unsynced)).toBe(true);
    await b1.sync.stop(); // restart lvs2 during the partition: its journal is gone, its state file is not
    const b = await node('lvs2', { store: await open(), listenPort: bPort, paths });
    b.sync.setRole('backup');
    for (const p of [1001, 1002, 1003]) await a.store.apply(addService(p));
    relay.heal();
    await until('convergence', () => a.sync.status().inSync && b.sync.status().inSync && b.store.generation === a.store.generation, 8000);
    const kept = b.sync.divergence();
    expect(kept.map((e) => e.keys[0]!.key)).toEqual(['service|tcp 10.77.0.100:2001']);
    expect(existsSync(paths.unsynced)).toBe(false);
    expect(JSON.parse(readFileSync(paths.divergence, 'utf8')).entries).toHaveLength(1);
    await b.sync.replayDivergence([kept[0]!.id]);
    await until('replayed', () => a.store.state.services.some((s) => 'port' in s && s.port === 2001) && a.sync.status().inSync);
  });

  it('refuses a replay on a BACKUP that is not in sync with its peer', async () => {
    const b = await node('lvs2');
    b.sync.setRole('backup', '10.77.0.11');
    await expect(b.sync.replayDivergence([])).rejects.toMatchObject({ code: 'VSD_ERR_HA_STATE', message: expect.stringContaining('10.77.0.11') });
  });

  it('refuses a peer with the wrong key and logs it', async () => {
    const b = await node('lvs2');
    const a = await node('lvs1', { peerPort: b.port, key: Buffer.from('another-key-of-enough-length') });
    await until('refusal', () => b.sync.status().authFailures > 0 || a.sync.status().authFailures > 0);
    expect(b.sync.status().connected).toBe(false);
    expect(b.lines.some((l) => l.msg === 'peer authentication failed')).toBe(true);
  });

  it('closes a connection whose handshake frame is not JSON and counts it', async () => {
    const b = await node('lvs2');
    const c = connect(b.port, '127.0.0.1');
    const closed = new Promise<void>((r) => c.on('close', () => r()));
    await new Promise((r) => c.once('data', r)); // hello
    const junk = Buffer.from('{"v":2,"t":"auth","id":"x"'); // truncated JSON
    const head = Buffer.alloc(4);
    head.writeUInt32BE(junk.length);
    c.write(Buffer.concat([head, junk]));
    await closed;
    expect(b.sync.status().authFailures).toBe(1);
  });

  it('sends persistence templates to the peer', async () => {
    const entries: PersistenceEntry[] = [{ service: 'tcp 10.77.0.100:80', client: '10.77.0.2', dest: '10.77.0.21:80', expiresAt: Date.now() + 60_000 }];
    const imported: PersistenceEntry[] = [];
    const b = await node('lvs2', { dataplane: { importPersistence: (e) => imported.push(...e), exportPersistence: () => [] } });
    await node('lvs1', { peerPort: b.port, dataplane: { exportPersistence: () => entries } });
    await until('persistence', () => imported.length > 0);
    expect(imported[0]).toEqual(entries[0]);
  });
});

async function cuttableRelay(target: number): Promise<{ port: number; cut(): void; heal(): void }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((c) => {
    if (!open) return c.destroy();
    const up = connect(target, '127.0.0.1');
    c.pipe(up).pipe(c);
    for (const s of [c, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    heal() {
      open = true;
    },
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
