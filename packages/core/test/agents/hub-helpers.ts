import { afterEach, expect } from 'vitest';
import { WebSocket } from 'ws';
import { newNonce } from '../../src/auth/challenge.js';
import { agentProof, checkDispatcherProof } from '../../src/agents/handshake.js';
import { AgentHub } from '../../src/agents/hub.js';
import { createLogger } from '@vsd/sys';
import { parseVirtualService, type DesiredState } from '../../src/model/schema.js';
import { WeightOverlay } from '../../src/weights/overlay.js';

// The agent side of the hub's tests: a hand-made agent, a store and a hub listening on loopback.
export const KEY = Buffer.from('agent-key-0123456789');

export function stateWith(...rips: string[]): DesiredState {
  const svc = parseVirtualService({
    protocol: 'tcp',
    address: '10.0.0.100',
    port: 80,
    realServers: rips.map((a) => ({ address: a, port: 80, forwarding: 'masq' })),
  });
  return { version: 1, generation: 1, services: [svc], timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, syncDaemons: [] };
}

export class FakeStore {
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

export interface TestAgent {
  ws: WebSocket;
  closed: Promise<number>;
  messages: unknown[];
  send(msg: unknown): void;
}

/** Speak the agent side of the handshake by hand. */
export async function connect(
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
    // Refused at accept (a listener bound) resets the socket before the upgrade.
    ws.on('error', () => resolve(false));
  });
  return { ws, closed, messages, welcome, send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

export async function until(what: string, f: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const hubs: AgentHub[] = [];
export const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const h of hubs.splice(0)) await h.stop();
});

export function logLines(): { lines: Array<Record<string, unknown>>; stream: NodeJS.WritableStream } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => (lines.push(JSON.parse(s) as Record<string, unknown>), true) } as unknown as NodeJS.WritableStream;
  return { lines, stream };
}

export async function startHub(store: FakeStore, overlay = new WeightOverlay(), extra: Partial<ConstructorParameters<typeof AgentHub>[0]> = {}) {
  const { lines, stream } = logLines();
  const hub = new AgentHub({
    listen: '127.0.0.1:0',
    key: KEY,
    id: 'lvs1',
    overlay,
    store,
    silentAfter: 3,
    sweepMs: 20,
    logger: createLogger({ level: 'debug' }, stream),
    ...extra,
  });
  hubs.push(hub);
  const { port } = await hub.start();
  return { hub, port, overlay, lines };
}
