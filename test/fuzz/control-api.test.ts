import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addServer, addService, startHarness, svc, type Harness } from '../../packages/core/test/control/helpers.js';
import { DOCUMENTED_CODES } from './lib/catalogue.js';
import { deepNest, mutateBytes, mutateJson, randomJson } from './lib/mutate.js';
import { fuzz } from './lib/run.js';

// Control API request bodies, through the real control server on a unix socket in a tmp dir.
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const SEEDS: Buffer[] = [
  { ops: [addService(), addServer('10.0.1.1'), addServer('10.0.1.2', { weight: 3 })] },
  { ops: [{ op: 'edit-service', service: { ...svc, scheduler: 'wlc', persistence: { timeout: 300 } } }] },
  { ops: [{ op: 'edit-server', service: svc, server: { address: '10.0.1.1', port: 8080, forwarding: 'masq', weight: 0 } }] },
  { ops: [{ op: 'delete-server', service: svc, server: { address: '10.0.1.2', port: 8080 } }] },
  { ops: [{ op: 'set-timeouts', timeouts: { tcp: 900, tcpfin: 120, udp: 300 } }] },
  { ops: [{ op: 'flush' }] },
].map((b) => Buffer.from(JSON.stringify(b)));

function post(path: string, body: Buffer, contentType: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    // One connection per body, as the control client does: Node 20's global agent keeps sockets alive, and a
    // reused one the server had closed (after a refusal with connection: close) failed with EPIPE outside any request.
    const req = request({ socketPath: h.socket, method: 'POST', path, agent: false, headers: { 'content-type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('fuzz: control API bodies', () => {
  it('answers every body in time with a documented code, never 500; a refused transaction changes nothing', async () => {
    const codes = new Map<string, number>();
    let applied = 0;
    await fuzz<Buffer>({
      name: 'control-api',
      seeds: SEEDS,
      perInputMs: 2000,
      mutate(rng, s, corpus) {
        const text = s.toString();
        if (rng.chance(0.05)) return Buffer.from(deepNest(rng, text));
        return rng.chance(0.75) ? Buffer.from(JSON.stringify(mutateJson(rng, JSON.parse(text)))) : Buffer.from(mutateBytes(rng, s, corpus));
      },
      random: (rng) => (rng.chance(0.5) ? Buffer.from(rng.bytes(rng.int(300))) : Buffer.from(JSON.stringify(randomJson(rng)))),
      serialize: (b) => b,
      async check(body) {
        const before = JSON.stringify(h.store.state);
        const generation = h.store.generation;
        const r = await post('/v1/transactions', body, 'application/json');
        let json: { generation?: number; error?: { code?: string } };
        try {
          json = JSON.parse(r.text) as typeof json;
        } catch {
          throw new Error(`status ${r.status}: answer is not JSON: ${r.text.slice(0, 200)}`);
        }
        if (r.status === 200) {
          applied++;
          expect(json.generation).toBe(h.store.generation);
          return;
        }
        const code = json.error?.code ?? '<none>';
        codes.set(code, (codes.get(code) ?? 0) + 1);
        expect(r.status, `${code}: ${r.text.slice(0, 300)}`).not.toBe(500);
        expect(DOCUMENTED_CODES.has(code), `undocumented code ${code}`).toBe(true);
        expect(h.store.generation).toBe(generation);
        expect(JSON.stringify(h.store.state)).toBe(before);
      },
    });
    process.stdout.write(`fuzz control-api: ${applied} applied, refusals ${JSON.stringify(Object.fromEntries(codes))}\n`);
    expect(applied).toBeGreaterThan(0);
  });
});
