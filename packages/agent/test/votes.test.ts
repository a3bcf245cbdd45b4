/**
 * Witness votes over the real agent channel on loopback: a hub per dispatcher, an agent link per hub, one Voter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { AgentHub, dispatcherProof, newNonce, silentLogger, WeightOverlay, type DesiredState, type Vote } from '@vsd/core';
import { DispatcherLink } from '../src/link.js';
import { Voter } from '../src/voter.js';

const KEY = Buffer.from('agent-key-0123456789');
const state: DesiredState = { version: 1, generation: 1, services: [], timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, syncDaemons: [] };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until<T>(what: string, f: () => T | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function hub(id: string) {
  const h = new AgentHub({ listen: '127.0.0.1:0', key: KEY, id, overlay: new WeightOverlay(), store: { state, subscribe: () => () => {} } });
  const { port } = await h.start();
  cleanups.push(() => h.stop());
  const votes: Array<{ agent: string; vote: Vote }> = [];
  const voters: Array<[string, boolean]> = [];
  h.votes.subscribe({ vote: (agent, vote) => votes.push({ agent, vote }), voter: (a, c) => voters.push([a, c]) });
  return { h, address: `127.0.0.1:${port}`, votes, voters };
}

function link(dispatcher: string, voter?: Voter) {
  const l = new DispatcherLink({ dispatcher, key: KEY, agent: 'web1', addresses: ['10.0.0.1'], interval: 1, logger: silentLogger, voter });
  l.start();
  cleanups.push(() => l.stop());
  return l;
}

describe('witness votes over the agent channel', () => {
  it('an agent grants a vrid to one dispatcher at a time, and frees it when that dispatcher ends the connection', async () => {
    const d1 = await hub('lvs1');
    const d2 = await hub('lvs2');
    const voter = new Voter();
    link(d1.address, voter);
    link(d2.address, voter);
    await until('both hubs see a voter', () => d1.h.votes.voters().includes('web1') && d2.h.votes.voters().includes('web1'));
    expect(d1.voters).toEqual([['web1', true]]);

    expect(d1.h.votes.request('web1', 51, 1, 5000)).toBe(true);
    const v1 = await until('lvs1 answered', () => d1.votes.find((v) => v.vote.seq === 1));
    expect(v1.vote).toMatchObject({ type: 'vote', vrid: 51, granted: true, remainingMs: 5000 });
    d2.h.votes.request('web1', 51, 2, 5000);
    const v2 = await until('lvs2 answered', () => d2.votes.find((v) => v.vote.seq === 2));
    expect(v2.vote.granted).toBe(false);
    expect(v2.vote.remainingMs).toBeGreaterThan(4000);
    // Another vrid is independent.
    d2.h.votes.request('web1', 52, 3, 5000);
    expect((await until('vrid 52', () => d2.votes.find((v) => v.vote.seq === 3))).vote.granted).toBe(true);

    // lvs1 stops (its side closes the connection): the agent frees its lease at once, not after 5 s.
    await d1.h.stop();
    expect(d1.voters).toEqual([
      ['web1', true],
      ['web1', false],
    ]);
    await until('lease freed', () => !voter.leasesNow().some((l) => l.vrid === 51));
    d2.h.votes.request('web1', 51, 4, 5000);
    expect((await until('lvs2 granted', () => d2.votes.find((v) => v.vote.seq === 4))).vote.granted).toBe(true);
  });

  it('release gives the lease back; a release from the other dispatcher does nothing', async () => {
    const d1 = await hub('lvs1');
    const d2 = await hub('lvs2');
    const voter = new Voter();
    link(d1.address, voter);
    link(d2.address, voter);
    await until('voters', () => d1.h.votes.voters().length && d2.h.votes.voters().length);
    d1.h.votes.request('web1', 51, 1, 5000);
    await until('granted', () => d1.votes.length);
    d2.h.votes.release('web1', 51);
    d2.h.votes.request('web1', 51, 2, 5000);
    expect((await until('refused', () => d2.votes.find((v) => v.vote.seq === 2))).vote.granted).toBe(false);
    d1.h.votes.release('web1', 51);
    d2.h.votes.request('web1', 51, 3, 5000);
    expect((await until('granted to lvs2', () => d2.votes.find((v) => v.vote.seq === 3))).vote.granted).toBe(true);
  });

  it('an agent without the vote feature (older vsd-agent) is never sent a vote frame and stays connected', async () => {
    const d1 = await hub('lvs1');
    const l = link(d1.address);
    await until('connected', () => l.ready && d1.h.status().agents.some((a) => a.connected));
    expect(d1.h.votes.voters()).toEqual([]);
    expect(d1.h.votes.request('web1', 51, 1, 500)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(l.ready).toBe(true);
    expect(l.status().connects).toBe(1);
  });

  it('frees the leases when the dispatcher closed with its own code or vanished, not on a ws protocol-error close', async () => {
    // A minimal dispatcher: the real handshake, one vote-request, then a close with the code under test.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    let closeWith = 4002;
    wss.on('connection', (ws) => {
      const nonce = newNonce();
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as { type: string; agent?: string; nonce?: string };
        if (m.type === 'hello') {
          const proof = dispatcherProof(KEY, { agent: m.agent!, dispatcher: 'stub', agentNonce: m.nonce!, dispatcherNonce: nonce });
          ws.send(JSON.stringify({ v: 1, type: 'challenge', dispatcher: 'stub', nonce, proof }));
        } else if (m.type === 'auth') {
          ws.send(JSON.stringify({ v: 1, type: 'welcome', silentAfter: 3 }));
          ws.send(JSON.stringify({ v: 1, type: 'vote-request', vrid: 51, seq: 1, leaseMs: 60_000 }));
        } else if (m.type === 'vote') {
          if (closeWith === 1006) ws.terminate();
          else ws.close(closeWith);
        }
      });
    });
    const port = (wss.address() as { port: number }).port;
    const dispatcher = `127.0.0.1:${port}`;
    for (const [code, freed] of [
      [4002, true],
      [1006, true],
      [1009, false],
      [1002, false],
    ] as const) {
      closeWith = code;
      const voter = new Voter();
      const l = new DispatcherLink({
        dispatcher,
        key: KEY,
        agent: 'web1',
        addresses: ['10.0.0.1'],
        interval: 1,
        logger: silentLogger,
        voter,
        minBackoffMs: 5000,
      });
      l.start();
      await until(`lease granted (${code})`, () => voter.leasesNow().length === 1 || l.status().connects > 0);
      await until(`closed (${code})`, () => l.status().state === 'backoff');
      expect([code, voter.leasesNow().length === 0]).toEqual([code, freed]);
      l.stop();
    }
  });

  it('against an older dispatcher that refuses `features` in hello, the agent says hello again without them', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const hellos: Array<Record<string, unknown>> = [];
    wss.on('connection', (ws) =>
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString()) as Record<string, unknown>;
        hellos.push(m);
        // What an older hub answers: its strict hello schema names the key it does not know.
        if ('features' in m)
          ws.send(
            JSON.stringify({ v: 1, type: 'refused', code: 'VSD_ERR_BAD_MESSAGE', message: "bad hello: <frame>: Unrecognized key(s) in object: 'features'" }),
          );
        ws.close(4002);
      }),
    );
    const port = (wss.address() as { port: number }).port;
    const l = new DispatcherLink({
      dispatcher: `127.0.0.1:${port}`,
      key: KEY,
      agent: 'web1',
      addresses: ['10.0.0.1'],
      interval: 1,
      logger: silentLogger,
      voter: new Voter(),
      minBackoffMs: 20,
    });
    l.start();
    cleanups.push(() => l.stop());
    await until('second hello', () => hellos.length >= 2);
    expect(hellos[0]).toHaveProperty('features', ['vote/1']);
    expect(hellos[1]).not.toHaveProperty('features');
  });
});
