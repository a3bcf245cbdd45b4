/**
 * Issue 16: a state write that failed (ENOSPC) left its temporary file behind, so a full disk filled further with
 * every transaction. Failing writes here come from an injected file handle and from a real 32 KiB tmpfs mounted in
 * a private mount namespace (`unshare -m`, needs root and the built @vsd/core).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableJsonFile } from '../../src/state/durable-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vsd-durable-'));
  dirs.push(d);
  return d;
}
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

/** `open` whose file handles fail at `step` after writing part of the data, as a full disk does. */
function failingOpen(step: 'writeFile' | 'sync', code: string): typeof open {
  return (async (path: string, flags: string, mode?: number) => {
    const fh = await open(path, flags, mode);
    if (flags !== 'w') return fh;
    return new Proxy(fh, {
      get(target, prop) {
        if (prop === step)
          return async (data?: string) => {
            if (data) await target.write(data.slice(0, 10));
            throw errno(code);
          };
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }) as typeof open;
}

describe('durable state file: failed writes leave nothing behind (issue 16)', () => {
  for (const [step, code] of [
    ['writeFile', 'ENOSPC'],
    ['sync', 'EIO'],
  ] as const) {
    it(`removes the temporary file when ${step} fails with ${code}, and keeps the old document`, async () => {
      const dir = tempDir();
      const path = join(dir, 'state.json');
      writeFileSync(path, '{"old":true}\n');
      const file = new DurableJsonFile<object>(path, { open: failingOpen(step, code) });
      await expect(file.write({ new: true })).rejects.toMatchObject({ code });
      expect(readdirSync(dir)).toEqual(['state.json']);
      expect(readFileSync(path, 'utf8')).toBe('{"old":true}\n');
    });
  }

  it('removes the temporary file when the rename fails', async () => {
    const dir = tempDir();
    const path = join(dir, 'state.json');
    const file = new DurableJsonFile<object>(path, { rename: async () => Promise.reject(errno('EXDEV')) });
    await expect(file.write({ a: 1 })).rejects.toMatchObject({ code: 'EXDEV' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('removes temporary files a dead writer left before its first write, and leaves foreign files alone', async () => {
    const dir = tempDir();
    const path = join(dir, 'state.json');
    // pid 2^22+1 is above pid_max's default ceiling: nobody.
    writeFileSync(join(dir, `.state.json.${2 ** 22 + 1}.0.tmp`), 'partial');
    writeFileSync(join(dir, `.state.json.${process.pid}.7.tmp`), 'partial');
    writeFileSync(join(dir, '.other.json.1.0.tmp'), 'not ours');
    await new DurableJsonFile<object>(path).write({ a: 1 });
    expect(readdirSync(dir).sort()).toEqual(['.other.json.1.0.tmp', 'state.json']);
  });

  it('a store on a full tmpfs refuses the transaction, keeps its state, and leaves no temporary file', () => {
    const coreDist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    if (!existsSync(coreDist)) throw new Error('run `pnpm build` first: the child process loads the built @vsd/core');
    const dir = tempDir();
    const script = join(dir, 'fill.mjs');
    writeFileSync(
      script,
      `import { readdirSync } from 'node:fs';
import { StateStore } from ${JSON.stringify(coreDist)};
const dir = process.argv[2];
const store = await StateStore.open({ path: dir + '/state.json' });
await store.apply([{ op: 'add-service', service: { protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'rr', schedFlags: [], persistence: { timeout: 0, netmask: null }, pe: null, onePacket: false, realServers: [] } }]);
const servers = Array.from({ length: 400 }, (_, i) => ({ op: 'add-server', service: { protocol: 'tcp', address: '10.0.0.1', port: 80 }, server: { address: '192.0.2.' + (1 + (i % 250)), port: 1000 + i, forwarding: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 } }));
const err = await store.apply(servers).catch((e) => e);
console.log(JSON.stringify({ code: err?.code, cause: err?.cause?.code, generation: store.generation, files: readdirSync(dir) }));
`,
    );
    const mnt = join(dir, 'mnt');
    const r = spawnSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-ec',
        `mkdir -p "${mnt}" && mount -t tmpfs -o size=32k tmpfs "${mnt}" && exec "${process.execPath}" "${script}" "${mnt}"`,
      ],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`unshare/mount failed (needs root): ${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { code: string; cause: string; generation: number; files: string[] };
    expect(out).toEqual({ code: 'VSD_ERR_STATE_WRITE', cause: 'ENOSPC', generation: 1, files: ['state.json'] });
  });
});
