import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseState } from '@vsd/core';

// The child runs outside vitest, so it uses the built store (pnpm build, which `pnpm test` runs first).
const dist = fileURLToPath(new URL('../../dist/state/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vsd-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WRITER = `
import { StateStore } from ${JSON.stringify(pathToFileURL(join(dist, 'store.js')).href)};
import { parseOps } from ${JSON.stringify(pathToFileURL(join(dist, 'ops.js')).href)};
const store = await StateStore.open({ path: process.argv[2] });
for (let i = 0; ; i++) {
  // Documents of varying size (tens of kB), so kills land in every phase of a write.
  const n = 20 + ((i * 37) % 60);
  const services = Array.from({ length: n }, (_, k) => ({
    protocol: 'tcp', address: '10.0.0.1', port: 1000 + k, scheduler: 'rr',
    realServers: [{ address: '10.0.1.1', port: 80, forwarding: 'masq', weight: 1 + (i % 100) }],
  }));
  await store.apply(parseOps([{ op: 'replace', services }]), 'crash-test');
  // The parent kills only after a first commit, so every run must leave a newer generation behind.
  if (i === 0) process.stdout.write('committed\\n');
}
`;

function runAndKill(script: string, path: string, afterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), afterMs));
    child.once('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}: ${err}`))));
  });
}

describe('state file crash safety', () => {
  it('is always a complete, valid document after SIGKILL during a tight write loop', async () => {
    expect(existsSync(join(dist, 'store.js')), 'run `pnpm build` first: the writer child uses packages/core/dist').toBe(true);
    const script = join(dir, 'writer.mjs');
    writeFileSync(script, WRITER);
    const path = join(dir, 'state.json');
    const deadline = Date.now() + 6_000;
    let previous = -1;
    let runs = 0;
    // Bounded both in count and in time.
    for (let i = 0; i < 10 && Date.now() < deadline; i++) {
      await runAndKill(script, path, 5 + ((i * 13) % 60));
      runs++;
      const text = readFileSync(path, 'utf8');
      const doc = parseState(JSON.parse(text), path);
      expect(doc.services.length).toBeGreaterThanOrEqual(20);
      expect(doc.generation).toBeGreaterThan(previous);
      previous = doc.generation;
    }
    expect(runs).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
