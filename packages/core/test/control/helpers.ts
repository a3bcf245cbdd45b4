import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createControlServer,
  createNoneDataplane,
  createReconciler,
  StateStore,
  WeightOverlay,
  type ControlServer,
  type ControlServerOptions,
} from '@vsd/core';

export interface Harness {
  dir: string;
  socket: string;
  store: StateStore;
  overlay: WeightOverlay;
  server: ControlServer;
  close(): Promise<void>;
}

export async function startHarness(extra: Partial<ControlServerOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'vsd-control-'));
  const socket = join(dir, 'vsd.sock');
  const store = await StateStore.open({ path: join(dir, 'state.json') });
  const overlay = new WeightOverlay();
  const dataplane = createNoneDataplane();
  const reconciler = createReconciler({ store, overlay, dataplane });
  await reconciler.start();
  const server = await createControlServer({ store, overlay, dataplane, socket, settled: reconciler.settled, ...extra });
  return {
    dir,
    socket,
    store,
    overlay,
    server,
    async close() {
      await server.close(100);
      reconciler.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** A raw HTTP request (the client library would refuse to send malformed JSON). */
export function raw(
  target: { socket: string } | { host: string; port: number },
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...('socket' in target ? { socketPath: target.socket } : { host: target.host, port: target.port }), method, path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
export const addService = (extra: Record<string, unknown> = {}) => ({ op: 'add-service', service: { ...svc, scheduler: 'rr', ...extra } });
export const addServer = (address: string, extra: Record<string, unknown> = {}) => ({
  op: 'add-server',
  service: svc,
  server: { address, port: 8080, forwarding: 'masq', ...extra },
});
