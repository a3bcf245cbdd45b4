import { mkdtempSync, readdirSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MountProber, parseProbeOutput } from '../../src/storage/probe.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('probe output', () => {
  it('parses each line kind', () => {
    expect(parseProbeOutput(`\n@@responsive 1\n@@sentinel ${'ab'.repeat(32)}\n@@writable 1\n@@done`)).toEqual({
      responsive: true,
      writable: true,
      sentinel: 'ab'.repeat(32),
      error: null,
    });
    expect(parseProbeOutput('\n@@responsive 0 stat: cannot statx:\nTransport endpoint is not connected')).toEqual({
      responsive: false,
      writable: null,
      sentinel: null,
      error: 'stat: cannot statx: Transport endpoint is not connected',
    });
    expect(parseProbeOutput('\n@@responsive 1\n@@sentinel - sha256sum: x: No such file\n@@writable 0 dd: Read-only file system\n@@done')).toMatchObject({
      sentinel: null,
      writable: false,
      error: 'sentinel: sha256sum: x: No such file; write: dd: Read-only file system',
    });
    expect(parseProbeOutput('\n@@responsive 1').error).toBe('probe ended early');
  });
});

describe('MountProber (real child process)', () => {
  it('stats, hashes the sentinel, writes/fsyncs/reads back and cleans up', async () => {
    writeFileSync(join(dir, '.sentinel'), 'hello\n');
    const r = await new MountProber().probe({ path: dir, sentinel: '.sentinel', writeFile: '.vsd-probe-t', timeoutMs: 5000 });
    expect(r).toMatchObject({ responsive: true, writable: true, error: null, sentinel: createHash('sha256').update('hello\n').digest('hex') });
    expect(readdirSync(dir)).toEqual(['.sentinel']);
  });

  it('reports a missing directory as not responding and an unwritable one as not writable', async () => {
    const gone = await new MountProber().probe({ path: join(dir, 'nope'), sentinel: null, writeFile: null, timeoutMs: 5000 });
    expect(gone.responsive).toBe(false);
    expect(gone.error).toMatch(/No such file/);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    // a directory in place of the probe file makes the write fail even for root
    mkdirSync(join(sub, '.vsd-probe-t'));
    const r = await new MountProber().probe({ path: sub, sentinel: 'missing', writeFile: '.vsd-probe-t', timeoutMs: 5000 });
    expect(r).toMatchObject({ responsive: true, writable: false, sentinel: null });
    expect(r.error).toMatch(/^sentinel: .*; write: /);
  });

  it('kills a probe that hangs, reports it within the timeout, and starts no second child while one is stuck', async () => {
    const fifo = join(dir, 'fifo');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [fifo]);
    // sha256sum blocks opening a FIFO nobody writes: a stand-in for a hung server (killable, like NFS hard mounts).
    const p = new MountProber();
    const t0 = Date.now();
    const r = await p.probe({ path: dir, sentinel: 'fifo', writeFile: null, timeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(r).toMatchObject({ responsive: false, error: 'no answer within 300 ms' });
    // SIGKILL reaches a FIFO open: the group is gone shortly after.
    for (let i = 0; i < 100 && p.stuckGroup !== null; i++) await new Promise((res) => setTimeout(res, 10));
    expect(p.stuckGroup).toBeNull();
  });

  it('refuses to start a new probe while the previous group is alive', async () => {
    const p = new MountProber();
    const first = p.probe({ path: dir, sentinel: 'fifo', writeFile: null, timeoutMs: 2000 });
    expect(p.busy).toBe(true);
    const second = await p.probe({ path: dir, sentinel: null, writeFile: null, timeoutMs: 2000 });
    expect(second.error).toBe('previous probe still running');
    await first;
  });

  it('starts no new child while the killed group survives (uninterruptible sleep), and reports the mount unresponsive', async () => {
    let stuck = true;
    const p = new MountProber(() => stuck);
    const first = await p.probe({ path: dir, sentinel: 'fifo', writeFile: null, timeoutMs: 200 });
    expect(first.error).toBe('no answer within 200 ms');
    const group = p.stuckGroup;
    expect(group).not.toBeNull();
    const second = await p.probe({ path: dir, sentinel: null, writeFile: null, timeoutMs: 200 });
    expect(second).toMatchObject({ responsive: false, error: `previous probe (process group ${group}) still stuck in the kernel` });
    // No child was started: a new one would have become the tracked group.
    expect(p.stuckGroup).toBe(group);
    stuck = false;
    expect((await p.probe({ path: dir, sentinel: null, writeFile: null, timeoutMs: 5000 })).responsive).toBe(true);
  });
});
