import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const START = fileURLToPath(new URL('../../../../examples/start.mjs', import.meta.url));

// `pnpm start` is the first thing a user runs: its self-test mode starts the two demo web servers and vsd
// (proxy dataplane, examples/vsd-demo.yaml with free loopback ports), fetches the VIP four times and stops.
describe('pnpm start demo', () => {
  it('serves both demo pages round robin through the VIP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-demo-test-'));
    try {
      const child = spawn(process.execPath, [START, '--self-test'], { env: { ...process.env, VSD_DEMO_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(err).toBe('');
      expect(code).toBe(0);
      const pages = out.trim().split('\n');
      expect(pages).toHaveLength(4);
      // rr alternates exactly.
      expect(new Set([pages[0], pages[1]])).toEqual(new Set(['this is test 1 web', 'this is test 2 web']));
      expect(pages[2]).toBe(pages[0]);
      expect(pages[3]).toBe(pages[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
