import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { newNonce } from '../../src/auth/challenge.js';
import { agentProof, checkDispatcherProof } from '../../src/agents/handshake.js';
import { AgentHub } from '../../src/agents/hub.js';
import { CLOSE_AUTH_FAILED, CLOSE_BAD_FRAMES } from '../../src/agents/protocol.js';
import { createLogger } from '../../src/logger.js';
import { parseVirtualService, type DesiredState } from '../../src/model/schema.js';
import { WeightOverlay } from '../../src/weights/overlay.js';
import { mount, report } from './fixtures.js';

const KEY = Buffer.from('agent-key-0123456789');

function stateWith(...rips: string[]): DesiredState {
  const svc = parseVirtualService({ protocol: 'tcp', address: '10.0.0.100', port: 80, realServers: rips.map((a) => ({ address: a, port: 80, forwarding: 'masq' })) });
  return { version: 1, generation: 1, services: [svc], timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, syncDaemons: [] };
}

class FakeStore {
  private listeners = new Set<() => void>();
  constructor(public state: DesiredState) {}
  subscribe(l: () => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  set(s: DesiredState) {
    this.state = s;
    for (const l of this.listeners) l();
  }
}

interface TestAgent {
  ws: WebSocket;
  closed: Promise<number>;
  messages: unknown[];
  send(msg: unknown): void;
}

/** Speak the agent side of the handshake by hand. */
async function connect(
  port: number,
  key: Buffer,
  agent = 'web1',
  addresses = ['10.0.0.1'],
  interval = 0.1,
  verifyDispatcher = key.equals(KEY),
): Promise<TestAgent & { welcome: boolean }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const messages: unknown[] = [];
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  const nonce = newNonce();
  const welcome = await new Promise<boolean>((resolve) => {
    ws.on('open', () => ws.send(JSON.stringify({ v: 1, type: 'hello', agent, addresses, nonce, interval })));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; dispatcher: string; nonce: string; proof: string };
      messages.push(m);
      if (m.type === 'challenge') {
        const p = { agent, dispatcher: m.dispatcher, agentNonce: nonce, dispatcherNonce: m.nonce };
        // The agent checks the dispatcher holds the key only when it holds it itself.
        if (verifyDispatcher) expect(checkDispatcherProof(key, p, m.proof)).toBe(true);
        ws.send(JSON.stringify({ v: 1, type: 'auth', proof: agentProof(key, p) }));
      }
      if (m.type === 'welcome') resolve(true);
      if (m.type === 'refused') resolve(false);
    });
    ws.on('close', () => resolve(false));
  });
  return { ws, closed, messages, welcome, send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

async function until(what: string, f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hubs: AgentHub[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const h of hubs.splice(0)) await h.stop();
});

function logLines(): { lines: Array<Record<string, unknown>>; stream: NodeJS.WritableStream } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => (lines.push(JSON.parse(s) as Record<string, unknown>), true) } as unknown as NodeJS.WritableStream;
  return { lines, stream };
}

async function startHub(store: FakeStore, overlay = new WeightOverlay(), extra: Partial<ConstructorParameters<typeof AgentHub>[0]> = {}) {
  const { lines, stream } = logLines();
  const hub = new AgentHub({ listen: '127.0.0.1:0', key: KEY, id: 'lvs1', overlay, store, silentAfter: 3, sweepMs: 20, logger: createLogger({ level: 'debug' }, stream), ...extra });
  hubs.push(hub);
  const { port } = await hub.start();
  return { hub, port, overlay, lines };
}

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
    expect(st.agents[0]).toMatchObject({ agent: 'web1', state: 'up', weightPct: 60, connected: true, realServers: [{ service: 'tcp 10.0.0.100:80', server: '10.0.0.1:80' }] });
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
    expect(hub.status().agents.map((a) => a.agent).sort()).toEqual(['web1', 'web2']);

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
