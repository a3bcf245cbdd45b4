/**
 * The command-line edges an operator hits first: --version everywhere, no V8 noise from vsd-agent, `vsd --check`
 * judging the file against the dataplane that will run it, and HA operations on a dispatcher without HA.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { runVsctl, startVsd, TempDir, VSD_BIN, VSCTL_BIN, type VsdProcess } from './harness.js';

const AGENT_BIN = fileURLToPath(new URL('../../agent/bin/vsd-agent.js', import.meta.url));
const VSADM_BIN = fileURLToPath(new URL('../../cli/bin/vsadm.js', import.meta.url));
const run = async (file: string, args: string[], node = true): Promise<{ code: number; stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(node ? process.execPath : file, node ? [file, ...args] : args, { timeout: 15_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

let dir: TempDir;
let running: VsdProcess | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
  dir?.remove();
});

describe('--version', () => {
  it('vsd, vsctl, vsadm and vsd-agent print their version and exit 0', async () => {
    for (const [bin, name] of [
      [VSD_BIN, 'vsd'],
      [VSCTL_BIN, 'vsctl'],
      [AGENT_BIN, 'vsd-agent'],
    ] as const) {
      const r = await run(bin, ['--version']);
      expect({ name, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        name,
        code: 0,
        stdout: expect.stringMatching(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+\\n$`)),
        stderr: '',
      });
    }
    const v = await run(VSCTL_BIN, ['-V']);
    expect(v.stdout).toMatch(/^vsctl \d/);
    // ipvsadm's own --version line, as vsadm copies ipvsadm.
    expect((await run(VSADM_BIN, ['--version'])).stdout).toMatch(/^ipvsadm v1\.31/);
  });

  it('vsd-agent run through its shebang (flags for lite mode) prints no V8 flag warning', async () => {
    for (const args of [['--version'], ['--help']]) {
      const r = await run(AGENT_BIN, args, false);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
    }
  });
});

describe('vsd --check', () => {
  const DR = `
virtual_servers:
  - address: 192.0.2.10:80
    lb_kind: DR
    real_servers: [{ address: 192.0.2.21 }]
`;
  const FWMARK = `
virtual_servers:
  - fwmark: 7
    real_servers: [{ address: 192.0.2.21:80 }]
`;

  it('refuses DR on the proxy dataplane (which refuses it at start), naming the real server and the way out', async () => {
    dir = new TempDir();
    const r = await run(VSD_BIN, ['--check', '--config', dir.file('vsd.yaml', DR)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/virtual_servers\.0 \(tcp 192\.0\.2\.10:80\)\.real_servers\.0 \(192\.0\.2\.21\): lb_kind DR .*needs the ipvs dataplane/);
  });

  it('accepts the same DR file for the ipvs dataplane, from the command line or from the file', async () => {
    dir = new TempDir();
    const onCli = await run(VSD_BIN, ['--check', '--dataplane', 'ipvs', '--config', dir.file('a.yaml', DR)]);
    expect(onCli.code).toBe(0);
    expect(onCli.stdout).toMatch(/OK, 1 virtual service\(s\), dataplane ipvs/);
    const inFile = await run(VSD_BIN, ['--check', '--config', dir.file('b.yaml', `dataplane: ipvs\n${DR}`)]);
    expect(inFile.code).toBe(0);
    // --dataplane wins over the file, as it does at start.
    expect((await run(VSD_BIN, ['--check', '-d', 'proxy', '--config', dir.file('c.yaml', `dataplane: ipvs\n${DR}`)])).code).toBe(1);
  });

  it('prints what the YAML parser noted (an unresolved tag) as a warning with its place, and still accepts the file', async () => {
    dir = new TempDir();
    const path = dir.file('vsd.yaml', `dataplane: !mytag ipvs\n${DR}`);
    const r = await run(VSD_BIN, ['--check', '--config', path]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`vsd: warning: ${path}:1:12: YAML TAG_RESOLVE_FAILED: Unresolved tag: !mytag\n`);
    expect(r.stderr).not.toMatch(/YAMLWarning/);
  });

  it('refuses a firewall-mark service on the proxy (it would be ignored), accepts it on none and ipvs', async () => {
    dir = new TempDir();
    const file = dir.file('vsd.yaml', FWMARK);
    const r = await run(VSD_BIN, ['--check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/virtual_servers\.0 \(fwmark 7\): the proxy dataplane would not serve it: firewall-mark services need the kernel/);
    expect((await run(VSD_BIN, ['--check', '-d', 'none', '--config', file])).code).toBe(0);
    expect((await run(VSD_BIN, ['--check', '-d', 'ipvs', '--config', file])).code).toBe(0);
  });

  it('fails for a missing config file (exit 1, the path named)', async () => {
    dir = new TempDir();
    const missing = join(dir.path, 'nope.yaml');
    const r = await run(VSD_BIN, ['--check', '--config', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`vsd: ${missing}: no such file\n`);
  });

  it('fails when a key file the config names is missing or too short, and says how to make one', async () => {
    dir = new TempDir();
    const key = join(dir.path, 'peer.key');
    const file = dir.file('vsd.yaml', `peer: { listen: 127.0.0.1:9181, key_file: ${key} }\n`);
    const r = await run(VSD_BIN, ['--check', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`peer.key_file: authentication failed: cannot read key file ${key}`);
    expect(r.stderr).toContain(`vsd keygen ${key}`);
    writeFileSync(key, 'short\n');
    expect((await run(VSD_BIN, ['--check', '--config', file])).stderr).toMatch(/holds fewer than 16 bytes/);
    writeFileSync(key, `${'k'.repeat(44)}\n`);
    expect(await run(VSD_BIN, ['--check', '--config', file])).toMatchObject({ code: 0, stdout: expect.stringMatching(/OK, 0 virtual service/) });
  });

  it('still refuses a file that does not parse, naming the key', async () => {
    dir = new TempDir();
    const r = await run(VSD_BIN, ['--check', '--config', dir.file('vsd.yaml', 'virtual_servers:\n  - address: 192.0.2.1:80\n    lb_algorithm: rr\n')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lb_algorithm: unknown key, did you mean lb_algo\?/);
  });
});

describe('HA operations without HA', () => {
  it('vsctl failover/takeover/release/sync answer that HA is not configured (exit 1), not "no such endpoint"', async () => {
    dir = new TempDir();
    const { vsd, socket } = await startVsd(dir, null);
    running = vsd;
    for (const cmd of ['failover', 'takeover', 'release']) {
      const r = await runVsctl(['--socket', socket, cmd]);
      expect({ cmd, code: r.code, stderr: r.stderr }).toEqual({
        cmd,
        code: 1,
        stderr: 'vsctl: VRRP is not configured on this dispatcher (add an `ha:`/`peer:` section to vsd.yaml)\n',
      });
    }
    const sync = await runVsctl(['--socket', socket, 'sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/is not configured on this dispatcher/);
    // status still works and leaves the HA sections out.
    const st = await runVsctl(['--socket', socket, 'status']);
    expect(st.code).toBe(0);
    expect(st.stdout).not.toMatch(/^ha:/m);
  });
});
