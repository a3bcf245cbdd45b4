import { describe, expect, it } from 'vitest';
import { parseClaimEntry } from '../../src/agents/config.js';
import { parseVirtualService, type DesiredState } from '../../src/model/schema.js';
import { WeightOverlay } from '../../src/weights/overlay.js';
import { report } from './fixtures.js';
import { FakeStore, KEY, connect, sockets, startHub, stateWith, until } from './hub-helpers.js';

// Issue #16: the real servers an agent claims were not bound to its key, so one agent could drain another node's.
const SVC = 'tcp 10.0.0.100:80';
const drainReport = report({ maintenance: true });
const OWN1 = Buffer.from('web1-own-key-0123456789');
const OWN2 = Buffer.from('web2-own-key-0123456789');

function bindings(entries: Record<string, string[]>) {
  return new Map(Object.entries(entries).map(([k, v]) => [k, v.map((t) => parseClaimEntry(t)!)]));
}

describe('agent claims binding', () => {
  it('a name bound in config speaks for its real servers only; no other name can drain them', async () => {
    const store = new FakeStore(stateWith('10.0.0.1', '10.0.0.2', '10.0.0.3'));
    const { hub, port, overlay } = await startHub(store, new WeightOverlay(), {
      agentKeys: new Map([
        ['web1', OWN1],
        ['web2', OWN2],
      ]),
      bindings: bindings({ web1: ['10.0.0.1:80'], web2: ['10.0.0.2'] }),
    });
    // web2 holds its own key but claims web1's address too, and reports maintenance (a drain).
    const web2 = await connect(port, OWN2, 'web2', ['10.0.0.1', '10.0.0.2'], 0.1, true);
    // A shared-key agent claims everything.
    const web9 = await connect(port, KEY, 'web9', ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    sockets.push(web2.ws, web9.ws);
    expect([web2.welcome, web9.welcome]).toEqual([true, true]);
    web2.send(drainReport);
    web9.send(drainReport);
    await until('web2 drains its own server', () => overlay.view(SVC, '10.0.0.2:80').factor === 0);
    await until('web9 drains the unbound one', () => overlay.view(SVC, '10.0.0.3:80').factor === 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(overlay.view(SVC, '10.0.0.1:80').sources).toEqual({});
    const st = hub.status();
    const by = Object.fromEntries(st.agents.map((a) => [a.agent, a]));
    expect(by.web2).toMatchObject({
      bound: true,
      realServers: [{ service: SVC, server: '10.0.0.2:80' }],
      refusedClaims: [{ service: SVC, server: '10.0.0.1:80' }],
    });
    expect(by.web9!.realServers).toEqual([{ service: SVC, server: '10.0.0.3:80' }]);
    expect(by.web9!.refusedClaims.map((c) => c.server).sort()).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(st.counters.claimsRefused).toBe(3);

    // web1 itself speaks for 10.0.0.1 (port 80 only: the same RIP on another port is not its).
    store.set({
      ...store.state,
      services: [
        ...store.state.services,
        parseVirtualService({ protocol: 'tcp', address: '10.0.0.100', port: 443, realServers: [{ address: '10.0.0.1', port: 443, forwarding: 'masq' }] }),
      ],
    });
    const web1 = await connect(port, OWN1, 'web1', ['10.0.0.1'], 0.1, true);
    sockets.push(web1.ws);
    web1.send(report({ load: { ...report().load, weightPct: 40 } }));
    await until('web1 applies', () => overlay.view(SVC, '10.0.0.1:80').factor === 0.4);
    // The address is web1's machine: web9 cannot speak for it on another port either.
    expect(overlay.view('tcp 10.0.0.100:443', '10.0.0.1:443').sources).toEqual({});
    expect(hub.status().agents.find((a) => a.agent === 'web1')!.refusedClaims).toEqual([{ service: 'tcp 10.0.0.100:443', server: '10.0.0.1:443' }]);
  });

  it('unbound real servers: the first name keeps them, a later name cannot override (with the shared key)', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port, overlay, lines } = await startHub(store, new WeightOverlay(), { forgetAfterMs: 200 });
    const web1 = await connect(port, KEY, 'web1', ['10.0.0.1']);
    sockets.push(web1.ws);
    web1.send(report({ load: { ...report().load, weightPct: 80 } }));
    await until('web1 applies', () => overlay.view(SVC, '10.0.0.1:80').factor === 0.8);
    const evil = await connect(port, KEY, 'evil', ['10.0.0.1']);
    sockets.push(evil.ws);
    evil.send(drainReport);
    await until('refused', () => hub.status().counters.claimsRefused === 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(overlay.view(SVC, '10.0.0.1:80').factor).toBe(0.8);
    expect(lines.find((l) => l.msg === 'agent claim refused: it may not speak for this real server')).toMatchObject({ agent: 'evil', server: '10.0.0.1:80' });
    // Still refused while evil keeps reporting: counted once per pair, not per report.
    evil.send(report({ seq: 2, maintenance: true }));
    await new Promise((r) => setTimeout(r, 50));
    expect(hub.status().counters.claimsRefused).toBe(1);
  });

  it('unbound_claims: source counts only the address the connection comes from', async () => {
    const store = new FakeStore(stateWith('10.0.0.1', '127.0.0.1'));
    const { hub, port, overlay } = await startHub(store, new WeightOverlay(), { unboundClaims: 'source' });
    const a = await connect(port, KEY, 'web1', ['10.0.0.1']);
    sockets.push(a.ws);
    a.send(drainReport);
    await until('source drained', () => overlay.view(SVC, '127.0.0.1:80').factor === 0);
    expect(overlay.view(SVC, '10.0.0.1:80').sources).toEqual({});
    expect(hub.status().agents[0]!.refusedClaims).toEqual([{ service: SVC, server: '10.0.0.1:80' }]);
  });
});

describe('parseClaimEntry', () => {
  it('reads ADDR:PORT, [V6]:PORT and bare addresses, canonically', () => {
    expect(parseClaimEntry('10.77.0.13:80')).toEqual({ address: '10.77.0.13', port: 80 });
    expect(parseClaimEntry('[2001:DB8::0:1]:443')).toEqual({ address: '2001:db8::1', port: 443 });
    expect(parseClaimEntry('2001:db8::1')).toEqual({ address: '2001:db8::1', port: null });
    expect(parseClaimEntry('10.77.0.13')).toEqual({ address: '10.77.0.13', port: null });
    for (const bad of ['web1:80', '10.77.0.13:0', '10.77.0.13:70000', '']) expect(parseClaimEntry(bad)).toBeNull();
  });
});

void (null as unknown as DesiredState);
