/**
 * Headless Chromium (Debian package chromium) for page tests: --dump-dom for the DOM as Chromium parsed it,
 * --screenshot for a PNG a person can look at. A missing chromium fails the test, it never skips it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** Where page tests leave screenshots: $VSD_TEST_ARTIFACTS, else test-artifacts/ at the repository root. */
export function artifactsDir(): string {
  const dir = process.env.VSD_TEST_ARTIFACTS ?? join(REPO, 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** How to start chromium: directly, or under a prefix such as `ip netns exec NS` (a browser inside a lab host). */
export interface ChromiumOptions {
  prefix?: string[];
  timeoutMs?: number;
}

function run(args: string[], options: ChromiumOptions): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const prefix = options.prefix ?? [];
  const timeoutMs = options.timeoutMs ?? 60_000;
  const profile = mkdtempSync(join(tmpdir(), 'vsd-chromium-'));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      prefix[0] ?? 'chromium',
      [
        ...(prefix.length ? [...prefix.slice(1), 'chromium'] : []),
        '--headless',
        // Root in CI: Chromium refuses to start its sandbox as root.
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      reject(new Error(`chromium could not run (${err.message}): install the Debian package chromium (scripts/install-deps.sh)`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** The DOM after Chromium loaded `url`, serialized. */
export async function dumpDom(url: string, options: ChromiumOptions = {}): Promise<string> {
  const r = await run(['--dump-dom', url], options);
  if (r.code !== 0 || !r.stdout.includes('</html>')) throw new Error(`chromium --dump-dom exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

export async function screenshot(url: string, file: string, size = '1400,1000', options: ChromiumOptions = {}): Promise<void> {
  const r = await run([`--window-size=${size}`, `--screenshot=${file}`, url], options);
  if (r.code !== 0) throw new Error(`chromium --screenshot exited ${r.code}: ${r.stderr.slice(-2000)}`);
}
