import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createScriptChecker } from '../../src/health/script.js';
import { sleep, waitFor } from './backends.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-health-script-'));
const script = (name: string, body: string): string => {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
};
const run = (command: string, dynamic = false, timeoutMs = 2000) => createScriptChecker({ command, dynamic, timeoutMs, killGraceMs: 300 }).check();

describe('MISC_CHECK', () => {
  it('is up on exit 0 and down on any other status without misc_dynamic', async () => {
    expect(await run(script('ok.sh', 'exit 0'))).toEqual({ ok: true, reason: 'exit 0' });
    expect(await run(script('one.sh', 'exit 1'))).toEqual({ ok: false, reason: 'exit 1' });
    expect(await run(script('ten.sh', 'exit 10'))).toEqual({ ok: false, reason: 'exit 10' });
  });

  it('with misc_dynamic: 1 = down, 2..255 = up with weight status - 2, 0 = up with the weight unchanged', async () => {
    expect(await run(script('d1.sh', 'exit 1'), true)).toEqual({ ok: false, reason: 'exit 1' });
    expect(await run(script('d2.sh', 'exit 2'), true)).toEqual({ ok: true, reason: 'exit 2, weight 0', weight: 0 });
    expect(await run(script('d10.sh', 'exit 10'), true)).toEqual({ ok: true, reason: 'exit 10, weight 8', weight: 8 });
    expect(await run(script('d255.sh', 'exit 255'), true)).toEqual({ ok: true, reason: 'exit 255, weight 253', weight: 253 });
    expect(await run(script('d0.sh', 'exit 0'), true)).toEqual({ ok: true, reason: 'exit 0' });
  });

  it('runs the command line through the shell with arguments and the real server in the environment', async () => {
    const out = join(dir, 'env.out');
    const cmd = `${script('args.sh', `echo "$1 $VSD_RS_ADDRESS:$VSD_RS_PORT" > ${out}; exit 0`)} first`;
    const r = await createScriptChecker({ command: cmd, dynamic: false, timeoutMs: 2000, env: { VSD_RS_ADDRESS: '10.0.0.2', VSD_RS_PORT: '80' } }).check();
    expect(r.ok).toBe(true);
    expect(readFileSync(out, 'utf8')).toBe('first 10.0.0.2:80\n');
    expect((await run(join(dir, 'missing.sh'))).reason).toBe('exit 127');
  });

  it('fails a timed-out script, SIGTERMs its process group, then SIGKILLs what ignores it', async () => {
    const marker = join(dir, 'survivor.alive');
    // The shell obeys SIGTERM; its child ignores it and keeps touching a file until SIGKILL.
    const cmd = script('stubborn.sh', `sh -c 'trap "" TERM; while true; do touch ${marker}; sleep 0.05; done' &\nwait`);
    const t0 = Date.now();
    const r = await createScriptChecker({ command: cmd, dynamic: false, timeoutMs: 200, killGraceMs: 1500 }).check();
    expect(r).toEqual({ ok: false, reason: 'timeout after 200 ms' });
    expect(Date.now() - t0).toBeLessThan(1400);
    // During the grace period the child that ignored SIGTERM is still running ...
    rmSync(marker, { force: true });
    await waitFor(() => existsSync(marker), 1000, 'the survivor touching its marker');
    // ... and after it, SIGKILL has taken the whole group: the marker is no longer refreshed.
    await waitFor(
      () => {
        rmSync(marker, { force: true });
        return Date.now() - t0 > 2500;
      },
      5000,
      'the grace period',
    );
    await sleep(300);
    expect(existsSync(marker)).toBe(false);
  });

  it('kills the process group when aborted', async () => {
    const marker = join(dir, 'aborted.alive');
    const cmd = script('forever.sh', `while true; do touch ${marker}; sleep 0.05; done`);
    const ac = new AbortController();
    const p = createScriptChecker({ command: cmd, dynamic: false, timeoutMs: 10_000 }).check(ac.signal);
    await waitFor(() => existsSync(marker), 2000, 'marker');
    ac.abort();
    expect(await p).toEqual({ ok: false, reason: 'aborted' });
    await sleep(100);
    rmSync(marker, { force: true });
    await sleep(200);
    expect(existsSync(marker)).toBe(false);
  });
});
