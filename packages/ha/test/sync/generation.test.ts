/**
 * Generation rules of peer sync, against an authenticated peer that sends what it likes: a generation of 2^53 (which
 * once emptied both tables and froze the counter), a snapshot lower than ours, and an equal generation with different
 * content, which must never read as "in sync".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MAX_GENERATION, parseState, StateStore } from '@vsd/core';
import { createPeerSync, stateDigest, type PeerSync } from '../../src/sync/index.js';
import { LinkManager, type PeerLink } from '../../src/sync/link.js';
import type { PeerMessage } from '../../src/sync/protocol.js';
import { addService, svc } from './services.js';

const KEY = Buffer.from('0123456789abcdef-shared-key');
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function victim(): Promise<{ store: StateStore; sync: PeerSync; port: number; lines: Array<Record<string, unknown>> }> {
  const store = await StateStore.open({ path: null });
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  const sync = createPeerSync({ id: 'lvs2', key: KEY, listen: { host: '127.0.0.1', port: 0 }, store, logger });
  const { port } = await sync.start();
  sync.setRole('master');
  cleanups.push(() => sync.stop());
  for (const p of [80, 443, 8080]) await store.apply(addService(p));
  return { store, sync, port, lines };
}

/** A peer that holds the key and sends frames the test writes. */
async function rogue(port: number): Promise<{ link: PeerLink; got: PeerMessage[] }> {
  const got: PeerMessage[] = [];
  let resolve!: (l: PeerLink) => void;
  const up = new Promise<PeerLink>((r) => (resolve = r));
  const links = new LinkManager(
    { id: 'lvs1', key: KEY, peer: { host: '127.0.0.1', port }, logger: pino({ level: 'silent' }) },
    { up: (l) => resolve(l), message: (_l, m) => got.push(m), down: () => undefined },
  );
  await links.start();
  cleanups.push(() => links.stop());
  return { link: await up, got };
}

async function until(what: string, probe: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const parseStateForTest = (doc: unknown) => parseState(doc, 'test');
const emptyAt = (generation: number) => ({ version: 1, generation, services: [], timeouts: { tcp: 900, tcpfin: 120, udp: 300 } });

describe('peer sync generation rules', () => {
  it('refuses a generation of 2^53 with a log and a counter, keeps the tables, and keeps counting', async () => {
    const v = await victim();
    const r = await rogue(v.port);
    const before = structuredClone(v.store.state.services);
    r.link.send({ t: 'announce', generation: 2 ** 53, hash: 'f'.repeat(32) });
    r.link.send({ t: 'tx', generation: 2 ** 53, ops: [{ op: 'clear' }], hash: 'f'.repeat(32), at: Date.now() });
    // A snapshot carrying it does not even pass validation (the document schema bounds the generation).
    r.link.send({ t: 'snapshot', state: emptyAt(2 ** 53) as never, hash: 'f'.repeat(32), history: [] });
    await until('refusals', () => v.sync.status().refusedGenerations >= 2 && v.sync.status().badFrames >= 1);
    const st = v.sync.status();
    expect(v.store.state.services).toEqual(before);
    expect(v.store.generation).toBe(3);
    expect(st.inSync).toBe(false);
    expect(st.peerGeneration).toBeNull();
    const line = v.lines.find((l) => l.code === 'VSD_ERR_PEER_GENERATION');
    expect(line).toMatchObject({ peerGeneration: 2 ** 53, reason: 'not a safe integer' });
    // The counter still moves.
    await v.store.apply(addService(9000));
    expect(v.store.generation).toBe(4);
  });

  it('refuses generations above 2^48 and absurd jumps', async () => {
    const v = await victim();
    const r = await rogue(v.port);
    r.link.send({ t: 'announce', generation: MAX_GENERATION + 1, hash: 'f'.repeat(32) });
    r.link.send({ t: 'announce', generation: 2 ** 40, hash: 'f'.repeat(32) });
    r.link.send({ t: 'tx', generation: 2 ** 40, ops: [{ op: 'clear' }], hash: 'f'.repeat(32), at: Date.now() });
    await until('refusals', () => v.sync.status().refusedGenerations === 3);
    expect(v.store.generation).toBe(3);
    expect(v.store.state.services).toHaveLength(3);
  });

  it('never installs a snapshot lower than our generation, nor an equal one it did not ask for that loses the tie', async () => {
    const v = await victim();
    const r = await rogue(v.port);
    const low = emptyAt(1);
    r.link.send({ t: 'snapshot', state: low as never, hash: stateDigest(low as never), history: [] });
    // Equal generation, content that loses the tie-break (a digest is compared as text): refused too.
    const candidates = [
      emptyAt(3),
      { ...emptyAt(3), timeouts: { tcp: 901, tcpfin: 120, udp: 300 } },
      { ...emptyAt(3), timeouts: { tcp: 902, tcpfin: 120, udp: 300 } },
    ];
    const mine = stateDigest(v.store.state);
    const loser = candidates.find((c) => stateDigest(c as never) < mine)!;
    r.link.send({ t: 'snapshot', state: loser as never, hash: stateDigest(loser as never), history: [] });
    await until('refusals', () => v.sync.status().refusedSnapshots === 2);
    expect(v.store.generation).toBe(3);
    expect(v.store.state.services).toHaveLength(3);
    expect(v.lines.filter((l) => l.code === 'VSD_ERR_PEER_GENERATION')).toHaveLength(1); // rate-limited
  });

  it('does not say "in sync" when the generations agree and the content does not', async () => {
    const v = await victim();
    const r = await rogue(v.port);
    // Same generation, a digest that loses the tie: the victim sends its snapshot, as the winner does...
    r.link.send({ t: 'announce', generation: 3, hash: '0'.repeat(32) });
    await until('snapshot sent', () => r.got.some((m) => m.t === 'snapshot'));
    // ...and the peer still holds something else at that generation.
    r.link.send({ t: 'announce', generation: 3, hash: '1'.repeat(32) });
    await until('announce seen', () => v.sync.status().peerDigest === '1'.repeat(32));
    const st = v.sync.status();
    expect(st.peerGeneration).toBe(st.generation);
    expect(st.inSync).toBe(false);
    r.link.send({ t: 'announce', generation: 3, hash: stateDigest(v.store.state) });
    await until('in sync once the digests agree', () => v.sync.status().inSync);
  });
});

describe('acknowledgements', () => {
  it('answers a transaction it already holds with an announce (a resend after the link was replaced)', async () => {
    // Both dispatchers dial each other and the link with the smaller initiator id replaces the other; a transaction
    // sent just before that is applied here but its acknowledgement leaves on the closed link. The sender, having
    // learnt our older generation from the new link, sends it again: without an answer it never reads "in sync".
    const v = await victim(); // generations 1..3
    const r = await rogue(v.port);
    const hash = stateDigest(v.store.state);
    await until('the victim announces itself on link up', () => r.got.some((m) => m.t === 'announce'));
    r.link.send({ t: 'announce', generation: 3, hash });
    await until('in sync', () => v.sync.status().inSync);
    const announcesBefore = r.got.filter((m) => m.t === 'announce').length;
    r.link.send({ t: 'tx', generation: 3, ops: addService(8080) as unknown[], hash, at: Date.now() });
    await until('the resent transaction acknowledged', () => r.got.filter((m) => m.t === 'announce').length > announcesBefore);
    expect(r.got.filter((m) => m.t === 'announce').at(-1)).toMatchObject({ t: 'announce', generation: 3, hash });
    expect(v.store.generation).toBe(3); // not applied twice
    expect(v.store.state.services).toHaveLength(3);
  });
});

describe('partition-heal merge against a scripted winner', () => {
  it('holds the snapshot until the winner says which keys it changed, ignores a stale answer, then merges', async () => {
    const v = await victim(); // generations 1..3: services 80, 443, 8080
    const common = await StateStore.open({ path: null });
    await common.apply(addService(80));
    const r = await rogue(v.port);
    const winner = { ...emptyAt(5), services: [svc(80), svc(9000)] };
    const winnerHash = stateDigest(parseStateForTest(winner));
    r.link.send({ t: 'snapshot', state: winner as never, hash: winnerHash, history: [[1, stateDigest(common.state)]] });
    await until('want-changes', () => r.got.some((m) => m.t === 'want-changes'));
    expect(r.got.find((m) => m.t === 'want-changes')).toMatchObject({ since: 1 });
    expect(v.store.generation).toBe(3); // nothing installed yet
    r.link.send({ t: 'changes', since: 1, upTo: 4, keys: [] }); // not the document held: ignored
    await new Promise((res) => setTimeout(res, 50));
    expect(v.store.generation).toBe(3);
    r.link.send({ t: 'changes', since: 1, upTo: 5, keys: ['service|tcp 10.77.0.100:443'] });
    await until('merged', () => v.store.generation === 6);
    const ports = v.store.state.services.map((x) => ('port' in x ? x.port : 0)).sort((a, b) => a - b);
    expect(ports).toEqual([80, 8080, 9000]); // 8080 re-applied, 443 kept aside
    expect(v.sync.divergence().map((e) => e.generation)).toEqual([2]);
    expect(v.sync.divergence()[0]!.reason).toContain('service|tcp 10.77.0.100:443');
  });
});

describe('store generation bounds', () => {
  it('refuses to count past MAX_GENERATION and to install a document above it', async () => {
    const store = await StateStore.open({ path: null });
    await store.install({ ...(emptyAt(MAX_GENERATION) as never), syncDaemons: [] }, 'test');
    await expect(store.apply(addService(80))).rejects.toMatchObject({ code: 'VSD_ERR_GENERATION' });
    await expect(store.install({ ...(emptyAt(2 ** 53) as never), syncDaemons: [] }, 'test')).rejects.toMatchObject({ code: 'VSD_ERR_GENERATION' });
    expect(store.generation).toBe(MAX_GENERATION);
  });
});
