/**
 * `dataplane: xdp` in vsd.yaml: `vsd --check` against the xdp dataplane's validator, and the start-time failure and
 * `xdp.fallback`. Nothing here attaches a program: the interface named does not exist.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnVsd, TempDir, VSD_BIN } from './harness.js';

let dir: TempDir | undefined;
afterEach(() => {
  dir?.remove();
  dir = undefined;
});

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VSD_BIN, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const service = (algo: string, kind = 'DR') => `
virtual_servers:
  - address: 192.0.2.10:80
    lb_algo: ${algo}
    lb_kind: ${kind}
    real_servers: [{ address: 192.0.2.21 }, { address: 192.0.2.22 }]
`;

describe('vsd --check with dataplane: xdp', () => {
  it('accepts DR and TUN with rr, wrr and mh on an interface that exists', async () => {
    dir = new TempDir();
    for (const [algo, kind] of [
      ['rr', 'DR'],
      ['wrr', 'TUN'],
      ['mh', 'DR'],
    ] as const) {
      const r = await run(['--check', '--config', dir.file(`${algo}.yaml`, `dataplane: xdp\nxdp: { interface: lo }\n${service(algo, kind)}`)]);
      expect({ algo, code: r.code, stderr: r.stderr }).toEqual({ algo, code: 0, stderr: '' });
      expect(r.stdout).toMatch(/OK, 1 virtual service\(s\), dataplane xdp/);
    }
  });

  it('names the scheduler that needs connection counts, and NAT, and the dataplanes that can', async () => {
    dir = new TempDir();
    const lc = await run(['--check', '--config', dir.file('lc.yaml', `dataplane: xdp\nxdp: { interface: lo }\n${service('wlc')}`)]);
    expect(lc.code).toBe(1);
    expect(lc.stderr).toMatch(/virtual_servers\.0 \(tcp 192\.0\.2\.10:80\): the xdp dataplane cannot do the wlc scheduler .*use the proxy or ipvs dataplane/);
    const nat = await run(['--check', '--config', dir.file('nat.yaml', `dataplane: xdp\nxdp: { interface: lo }\n${service('rr', 'NAT')}`)]);
    expect(nat.code).toBe(1);
    expect(nat.stderr).toMatch(/NAT .*NAT stays on the proxy and ipvs dataplanes/);
  });

  it('needs the xdp section and an interface that exists, unless a fallback is configured', async () => {
    dir = new TempDir();
    const none = await run(['--check', '--config', dir.file('a.yaml', `dataplane: xdp\n${service('rr')}`)]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/dataplane xdp needs an xdp: section naming the interface/);
    const absent = await run(['--check', '--config', dir.file('b.yaml', `dataplane: xdp\nxdp: { interface: nosuch0 }\n${service('rr')}`)]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/xdp\.interface: no interface nosuch0 here/);
    const fb = await run(['--check', '--config', dir.file('c.yaml', `dataplane: xdp\nxdp: { interface: nosuch0, fallback: none }\n${service('rr')}`)]);
    expect(fb.code).toBe(0);
    expect(fb.stderr).toMatch(/no interface nosuch0 here; vsd would start the none dataplane instead/);
    const bad = await run(['--check', '--config', dir.file('d.yaml', `dataplane: xdp\nxdp: { interface: lo, mode: turbo }\n${service('rr')}`)]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/xdp\.mode/);
  });
});

describe('vsd start with dataplane: xdp that cannot start', () => {
  it('fails naming the interface when xdp.fallback is off (the default)', async () => {
    dir = new TempDir();
    const cfg = dir.file('vsd.yaml', `dataplane: xdp\nxdp: { interface: nosuch0 }\n${service('rr')}`);
    const vsd = spawnVsd(['--config', cfg, '--socket', join(dir.path, 's'), '--state', join(dir.path, 'state.json')]);
    const { code } = await vsd.exited;
    expect(code).not.toBe(0);
    expect(vsd.stderr + vsd.logs.map((l) => JSON.stringify(l)).join('\n')).toMatch(/xdp dataplane on nosuch0: /);
  });

  it('starts the fallback dataplane, saying so, when xdp.fallback asks for it', async () => {
    dir = new TempDir();
    const cfg = dir.file('vsd.yaml', `dataplane: xdp\nxdp: { interface: nosuch0, fallback: none }\n${service('rr')}`);
    const vsd = spawnVsd(['--config', cfg, '--socket', join(dir.path, 's'), '--state', join(dir.path, 'state.json')]);
    try {
      const warn = await vsd.waitForLog(/the xdp dataplane cannot start .*starting the none dataplane instead, as xdp\.fallback says/);
      expect(warn.level).toBe(40);
      await vsd.waitForLog(/^vsd ready$/);
    } finally {
      await vsd.stop();
    }
  });
});
