import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readKeyFile } from '@vsd/core';
import { TempDir, VSD_BIN } from './harness.js';

const AGENT_BIN = fileURLToPath(new URL('../../agent/bin/vsd-agent.js', import.meta.url));

/** Runs a command under `sh` with umask 000, so the file mode cannot come from the caller's umask. */
async function sh(cmd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)('sh', ['-c', `umask 000; ${cmd}`, 'sh', ...args], { timeout: 15_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: TempDir;
afterEach(() => dir?.remove());

describe('vsd keygen', () => {
  it('writes a 32-byte base64 key with mode 0600 that readKeyFile accepts; two keys differ', async () => {
    dir = new TempDir();
    const a = join(dir.path, 'peer.key');
    const b = join(dir.path, 'agent.key');
    const r = await sh(`"${process.execPath}" "$1" keygen "$2"`, VSD_BIN, a);
    expect(r).toEqual({ code: 0, stdout: `${a}: new key written (mode 0600)\n`, stderr: '' });
    expect((await sh(`"${process.execPath}" "$1" keygen "$2"`, VSD_BIN, b)).code).toBe(0);
    for (const f of [a, b]) {
      expect(statSync(f).mode & 0o777).toBe(0o600);
      expect(readFileSync(f, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
      expect(Buffer.from(readFileSync(f, 'utf8').trim(), 'base64')).toHaveLength(32);
    }
    expect(readKeyFile(a).length).toBe(44);
    expect(readKeyFile(a).equals(readKeyFile(b))).toBe(false);
  });

  it('keeps an existing file (exit 1, content untouched) unless --force, which replaces it with mode 0600', async () => {
    dir = new TempDir();
    const f = dir.file('peer.key', 'the key both dispatchers share\n');
    const kept = await sh(`"${process.execPath}" "$1" keygen "$2"`, VSD_BIN, f);
    expect(kept.code).toBe(1);
    expect(kept.stderr).toBe(`vsd keygen: ${f}: exists; keep it, or replace it with --force (then copy it to every node that shares it)\n`);
    expect(readFileSync(f, 'utf8')).toBe('the key both dispatchers share\n');
    const forced = await sh(`"${process.execPath}" "$1" keygen --force "$2"`, VSD_BIN, f);
    expect(forced.code).toBe(0);
    expect(readFileSync(f, 'utf8')).not.toBe('the key both dispatchers share\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('prints a key with "-", and refuses a missing FILE or a directory it cannot write with a clear error', async () => {
    dir = new TempDir();
    const printed = await sh(`"${process.execPath}" "$1" keygen -`, VSD_BIN);
    expect(printed.stdout).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const none = await sh(`"${process.execPath}" "$1" keygen`, VSD_BIN);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^vsd keygen: give one FILE/);
    const nodir = await sh(`"${process.execPath}" "$1" keygen "$2"`, VSD_BIN, join(dir.path, 'no', 'such', 'dir', 'k'));
    expect(nodir.code).toBe(1);
    expect(nodir.stderr).toMatch(/cannot create: ENOENT/);
  });
});

describe('vsd-agent keygen and --check', () => {
  it('writes the agent key (0600) and --check accepts the config that names it, refuses a short key', async () => {
    dir = new TempDir();
    const key = join(dir.path, 'agent.key');
    expect((await sh('"$1" keygen "$2"', AGENT_BIN, key)).code).toBe(0);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const config = dir.file('agent.yaml', `name: web1\ndispatchers: [127.0.0.1:9182]\nkey_file: ${key}\n`);
    const ok = await sh('"$1" --check --config "$2"', AGENT_BIN, config);
    expect(ok).toEqual({ code: 0, stdout: `${config}: OK, agent web1, 1 dispatcher(s), 0 mount(s)\n`, stderr: '' });
    writeFileSync(key, 'short\n');
    const bad = await sh('"$1" --check --config "$2"', AGENT_BIN, config);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/holds fewer than 16 bytes/);
  });
});
