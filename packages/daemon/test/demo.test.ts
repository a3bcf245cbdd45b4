import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const START = fileURLToPath(new URL('../../../examples/start.mjs', import.meta.url));

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

  it('starts clean each time: the drain command it prints does not carry over to the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-demo-test-'));
    const env = { ...process.env, VSD_DEMO_DIR: dir };
    const startDemo = async () => {
      const child = spawn(process.execPath, [START], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 20_000;
      while (!/drain test 2/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const [, host, port] = /dispatcher +(\S+):(\d+) ->/.exec(out)!;
      const stop = async () => {
        child.kill('SIGINT');
        return exited;
      };
      return { out, host: host!, port: Number(port), stop };
    };
    const page = (host: string, port: number) =>
      new Promise<string>((resolve, reject) =>
        get({ host, port, path: '/', agent: false, timeout: 2000 }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body.trim()));
        }).on('error', reject),
      );
    try {
      const first = await startDemo();
      expect(first.out).toMatch(/state +fresh/);
      // The printed command, as a user would paste it: node .../vsadm.js --socket S -e -t VIP -r RIP -m -w 0
      const drain = /^\s*(node \S+vsadm\.js .* -w 0)\s+# drain test 2$/m.exec(first.out)![1]!.split(/\s+/);
      await promisify(execFile)(process.execPath, drain.slice(1), { timeout: 10_000 });
      const drained = new Set<string>();
      for (let i = 0; i < 4; i++) drained.add(await page(first.host, first.port));
      expect(drained).toEqual(new Set(['this is test 1 web']));
      expect(await first.stop()).toBe(0);

      // The same demo again (the same ports when they are free, as on a user's machine: the same config file).
      const second = await startDemo();
      expect(second.out).toMatch(/state +fresh/);
      const pages = new Set<string>();
      for (let i = 0; i < 4; i++) pages.add(await page(second.host, second.port));
      expect(await second.stop()).toBe(0);
      expect(pages).toEqual(new Set(['this is test 1 web', 'this is test 2 web']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
