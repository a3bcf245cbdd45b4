import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CLOSE_AUTH_FAILED, CLOSE_BAD_FRAMES } from '../../src/agents/protocol.js';
import { WeightOverlay } from '../../src/weights/overlay.js';
import { mount, report } from './fixtures.js';
import { FakeStore, KEY, connect, sockets, startHub, stateWith, until } from './hub-helpers.js';

describe('agent hub', () => {
  it('admits an agent with the key and applies its weight percentage to its real server only', async () => {
    const store = new FakeStore(stateWith('10.0.0.1', '10.0.0.2'));
    const { hub, port, overlay } = await startHub(store);
    const a = await connect(port, KEY);
    sockets.push(a.ws);
    expect(a.welcome).toBe(true);
    a.send(report({ load: { ...report().load, weightPct: 60 } }));
    await until('agent factor', () => overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').factor === 0.6);
    expect(overlay.view('tcp 10.0.0.100:80', '10.0.0.2:80').factor).toBe(1);
    const st = hub.status();
    expect(st.agents[0]).toMatchObject({
      agent: 'web1',
      state: 'up',
      weightPct: 60,
      connected: true,
      realServers: [{ service: 'tcp 10.0.0.100:80', server: '10.0.0.1:80' }],
    });
  });

  it('refuses a wrong key, logs it, and touches nothing', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port, overlay, lines } = await startHub(store);
    const a = await connect(port, Buffer.from('not-the-right-key-at-all'));
    sockets.push(a.ws);
    expect(a.welcome).toBe(false);
    expect(await a.closed).toBe(CLOSE_AUTH_FAILED);
    expect(a.messages.at(-1)).toMatchObject({ type: 'refused', code: 'VSD_ERR_AUTH' });
    expect(lines.find((l) => l.msg === 'agent refused')).toMatchObject({ agent: 'web1', reason: 'wrong key', component: 'agents' });
    expect(hub.status()).toMatchObject({ counters: { refused: 1, accepted: 0 }, agents: [] });
    expect(overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').sources).toEqual({});
  });

  it('binds a listed agent name to its own key: the shared key cannot speak for it; require_agent_key refuses the rest', async () => {
    const store = new FakeStore(stateWith('10.0.0.1', '10.0.0.2'));
    const OWN = Buffer.from('web1-own-key-0123456789');
    const { hub, port } = await startHub(store, new WeightOverlay(), { agentKeys: new Map([['web1', OWN]]) });
    // The shared key no longer admits "web1" (a real agent would already hang up: the dispatcher proves another key)...
    const impostor = await connect(port, KEY, 'web1', ['10.0.0.1'], 0.1, false);
    sockets.push(impostor.ws);
    expect(impostor.welcome).toBe(false);
    expect(await impostor.closed).toBe(CLOSE_AUTH_FAILED);
    // ...its own key does, and an unlisted agent still gets in with the shared key.
    const web1 = await connect(port, OWN, 'web1', ['10.0.0.1'], 0.1, true);
    const web2 = await connect(port, KEY, 'web2', ['10.0.0.2']);
    sockets.push(web1.ws, web2.ws);
    expect([web1.welcome, web2.welcome]).toEqual([true, true]);
    expect(
      hub
        .status()
        .agents.map((a) => a.agent)
        .sort(),
    ).toEqual(['web1', 'web2']);

    const strict = await startHub(store, new WeightOverlay(), { agentKeys: new Map([['web1', OWN]]), requireAgentKey: true });
    const unlisted = await connect(strict.port, KEY, 'web2', ['10.0.0.2']);
    sockets.push(unlisted.ws);
    expect(unlisted.welcome).toBe(false);
    expect(unlisted.messages.at(-1)).toMatchObject({ type: 'refused', code: 'VSD_ERR_AUTH' });
    expect(strict.lines.find((l) => l.msg === 'agent refused')).toMatchObject({ agent: 'web2', reason: expect.stringContaining('no key of its own') });
  });

  it('drains on broken storage and restores after repair', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { port, overlay } = await startHub(store);
    const a = await connect(port, KEY);
    sockets.push(a.ws);
    a.send(report({ mounts: [mount({ readOnly: true })] }));
    await until('drain', () => overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').factor === 0);
    expect(overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').sources.storage).toEqual({ factor: 0, reason: 'storage: /srv/www is mounted read-only' });
    a.send(report({ seq: 2 }));
    await until('restore', () => overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').factor === 1);
    expect(overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').sources.storage).toBeUndefined();
  });

  it('drains a silent agent after silent_after intervals and restores when it reports again', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port, overlay } = await startHub(store);
    const a = await connect(port, KEY, 'web1', ['10.0.0.1'], 0.1);
    sockets.push(a.ws);
    a.send(report());
    await until('reported', () => hub.status().agents[0]?.state === 'up');
    const t0 = hub.status().agents[0]!.lastReportAt!;
    await until('silent', () => overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').factor === 0);
    // silent_after 3 x interval 0.1 s after the last report, never earlier
    expect(Date.now() - t0).toBeGreaterThan(300);
    expect(hub.status().agents[0]?.state).toBe('silent');
    a.send(report({ seq: 2 }));
    await until('back', () => overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').factor === 1);
  });

  it('drops and counts invalid reports, then closes after max_bad_frames', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { hub, port } = await startHub(store, undefined, { maxBadFrames: 3 });
    const a = await connect(port, KEY);
    sockets.push(a.ws);
    a.send('{not json');
    a.send({ ...report(), v: 9 });
    await until('two dropped', () => hub.status().counters.badFrames === 2);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    a.send({ ...report(), load: { nope: 1 } });
    expect(await a.closed).toBe(CLOSE_BAD_FRAMES);
    expect(hub.status().counters).toMatchObject({ badFrames: 3, closedForBadFrames: 1 });
  });

  it('follows the desired state: new real servers with the agent address get its verdict, removed ones are cleared', async () => {
    const store = new FakeStore(stateWith('10.0.0.2'));
    const { port, overlay } = await startHub(store);
    const a = await connect(port, KEY);
    sockets.push(a.ws);
    a.send(report({ load: { ...report().load, weightPct: 50 } }));
    await new Promise((r) => setTimeout(r, 50));
    expect(overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').factor).toBe(1);
    store.set(stateWith('10.0.0.1', '10.0.0.2'));
    expect(overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').factor).toBe(0.5);
    store.set(stateWith('10.0.0.2'));
    expect(overlay.view('tcp 10.0.0.100:80', '10.0.0.1:80').sources).toEqual({});
  });

  it('closes a connection that never authenticates', async () => {
    const store = new FakeStore(stateWith('10.0.0.1'));
    const { port } = await startHub(store, undefined, { authTimeoutMs: 100 });
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    sockets.push(ws);
    const code = await new Promise<number>((r) => ws.on('close', (c) => r(c)));
    expect(code).toBe(4004);
  });
});
