/**
 * The install path: packaging/deb/build.sh builds the two .debs with dpkg-deb, dpkg installs them into a scratch
 * root (`dpkg --root` with `--force-script-chrootless`, so the maintainer scripts run for real with DPKG_ROOT set
 * and the running system is not touched), and the installed binaries run from there: --version, --check with the
 * shipped example configs, keygen, a vsd that tells a stand-in service manager READY=1 and answers the installed
 * vsctl. Then a reinstall (the upgrade path), remove and purge. In this tier because it needs Debian's dpkg
 * tools and systemd-analyze as root; it builds from dist/ (pnpm build first).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnixDatagramReceiver } from '@vsd/core';
import { REPO, requireBuild, tempDir } from '../lib/vsd-proc.js';

const exec = promisify(execFile);
async function sh(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(file, args, { env: { ...process.env, ...env }, timeout: 180_000, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

let dir: string;
let out: string;
let root: string;
let debs: { vsd: string; agent: string };
const dpkg = (...args: string[]) => sh('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', ...args]);

beforeAll(async () => {
  requireBuild();
  for (const tool of ['dpkg', 'dpkg-deb', 'systemd-analyze', 'systemd-sysusers']) {
    if ((await sh('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing (scripts/install-deps.sh installs it)`);
  }
  dir = tempDir('deb');
  out = join(dir, 'out');
  const r = await sh('bash', [join(REPO, 'packaging/deb/build.sh'), out], { SKIP_BUILD: '1', DEB_COMPRESS: 'gzip' });
  if (r.code !== 0) throw new Error(`build.sh failed (${r.code}): ${r.stderr}`);
  const arch = (await sh('dpkg', ['--print-architecture'])).stdout.trim();
  const version = JSON.parse(readFileSync(join(REPO, 'packages/daemon/package.json'), 'utf8')).version as string;
  debs = { vsd: join(out, `vsd_${version}-1_${arch}.deb`), agent: join(out, `vsd-agent_${version}-1_${arch}.deb`) };
  expect(r.stdout.trim().split('\n')).toEqual([debs.vsd, debs.agent]);
  root = join(dir, 'root');
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the .deb packages', () => {
  it('declare the node requirement, the conffiles and maintainer scripts', async () => {
    for (const [deb, name, conffile] of [
      [debs.vsd, 'vsd', '/etc/vsd/vsd.yaml'],
      [debs.agent, 'vsd-agent', '/etc/vsd/agent.yaml'],
    ] as const) {
      const f = (field: string) => sh('dpkg-deb', ['--field', deb, field]).then((r) => r.stdout.trim());
      expect(await f('Package')).toBe(name);
      expect(await f('Depends')).toMatch(/^nodejs \(>= 20\)/);
      const info = await sh('dpkg-deb', ['--ctrl-tarfile', deb]);
      expect(info.code).toBe(0);
      const ctrl = join(dir, `ctrl-${name}`);
      mkdirSync(ctrl);
      expect((await sh('dpkg-deb', ['--control', deb, ctrl])).code).toBe(0);
      expect(readFileSync(join(ctrl, 'conffiles'), 'utf8')).toBe(`${conffile}\n`);
      for (const s of ['postinst', 'prerm', 'postrm']) expect(statSync(join(ctrl, s)).mode & 0o111).toBeTruthy();
    }
  });

  it('satisfy apt on this host (nodejs >= 20 installed): a simulated `apt install ./vsd*.deb` resolves', async () => {
    const r = await sh('apt-get', ['install', '-s', '--no-install-recommends', debs.vsd, debs.agent]);
    expect({ code: r.code, stderr: r.stderr.replace(/^W: .*\n?/gm, '') }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Inst vsd \(/m);
    expect(r.stdout).toMatch(/^Inst vsd-agent \(/m);
  });

  it('hold the binaries, units, man pages and a pruned production tree', async () => {
    const list = async (deb: string) =>
      (await sh('dpkg-deb', ['--contents', deb])).stdout.split('\n').map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\.\//, '/'));
    const vsd = await list(debs.vsd);
    const agent = await list(debs.agent);
    for (const p of [
      '/usr/bin/vsd',
      '/usr/bin/vsadm',
      '/usr/bin/vsctl',
      '/lib/systemd/system/vsd.service',
      '/usr/lib/sysusers.d/vsd.conf',
      '/etc/vsd/vsd.yaml',
      '/usr/share/man/man8/vsd.8.gz',
      '/usr/share/man/man8/vsadm.8.gz',
      '/usr/share/man/man8/vsctl.8.gz',
      '/usr/share/man/man5/vsd.yaml.5.gz',
      '/usr/share/doc/vsd/deploy.md',
      '/usr/share/doc/vsd/migrate-from-keepalived.md',
      '/usr/share/doc/vsd/copyright',
    ])
      expect(vsd).toContain(p);
    for (const p of [
      '/usr/bin/vsd-agent',
      '/lib/systemd/system/vsd-agent.service',
      '/usr/lib/sysusers.d/vsd-agent.conf',
      '/etc/vsd/agent.yaml',
      '/usr/share/man/man8/vsd-agent.8.gz',
    ])
      expect(agent).toContain(p);
    // Only production code: no TypeScript sources or declarations, no dev tools, koffi for this machine only.
    for (const files of [vsd, agent]) {
      expect(files.filter((f) => /\.(d\.ts|ts|map)$/.test(f) || /\/(typescript|vitest|@types)\//.test(f))).toEqual([]);
      expect(new Set(files.filter((f) => /koffi\/build\/koffi\/[^/]+\/$/.test(f)).map((f) => f.split('/').at(-2)))).toEqual(
        new Set([process.arch === 'x64' ? 'linux_x64' : `linux_${process.arch}`]),
      );
    }
    // The agent's tree has no dispatcher code (no VRRP, no CLI, not even core: protocol and the OS door only), nor
    // core's own dependencies (lowdb); the OS door ships in both.
    expect(agent.filter((f) => /\/packages\/(core|ha|daemon|cli)\/|\/node_modules\/lowdb\//.test(f))).toEqual([]);
    expect(agent).toContain('/usr/lib/vsd-agent/packages/sys/dist/index.js');
    expect(vsd).toContain('/usr/lib/vsd/packages/sys/dist/index.js');
  });

  it('install with dpkg: users from the maintainer scripts, files in place, nothing started', async () => {
    const r = await dpkg('-i', debs.vsd, debs.agent);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/vsd: installed, not started/);
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
    expect(passwd).toMatch(/^vsd:x:\d+:\d+:[^:]*:\/var\/lib\/vsd:\/usr\/sbin\/nologin$/m);
    expect(passwd).toMatch(/^vsd-agent:x:\d+:\d+:/m);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Package} is dpkg-query's own field syntax, not a template.
    expect((await sh('dpkg-query', [`--root=${root}`, '-W', '-f=${Package} ${Status}\\n'])).stdout.trim().split('\n').sort()).toEqual([
      'vsd install ok installed',
      'vsd-agent install ok installed',
    ]);
  });

  it('runs the installed binaries: --version, --check with the shipped configs, keygen', async () => {
    const bin = (b: string) => join(root, 'usr/bin', b);
    for (const b of ['vsd', 'vsctl', 'vsd-agent'])
      expect(await sh(bin(b), ['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^${b} \\d+\\.\\d+\\.\\d+\\n$`)), stderr: '' });
    expect((await sh(bin('vsadm'), ['--version'])).stdout).toMatch(/^ipvsadm v1\.31/);
    const check = await sh(bin('vsd'), ['--check', '--config', join(root, 'etc/vsd/vsd.yaml')]);
    expect(check).toMatchObject({ code: 0, stdout: expect.stringMatching(/OK, 1 virtual service\(s\), dataplane proxy/) });
    const key = join(dir, 'agent.key');
    expect((await sh(bin('vsd'), ['keygen', key])).code).toBe(0);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const agentConfig = join(dir, 'agent.yaml');
    writeFileSync(agentConfig, readFileSync(join(root, 'etc/vsd/agent.yaml'), 'utf8').replace('/etc/vsd/agent.key', key));
    expect(await sh(bin('vsd-agent'), ['--check', '--config', agentConfig])).toMatchObject({ code: 0, stderr: '' });
    // vsctl finds the vsd.yaml contract of @vsd/daemon in the installed tree (it loads it, it does not depend on it).
    const keepalived = join(dir, 'keepalived.conf');
    writeFileSync(keepalived, 'virtual_server 192.0.2.10 80 {\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  real_server 192.0.2.21 80 {\n  }\n}\n');
    expect(await sh(bin('vsctl'), ['import-keepalived', keepalived])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^virtual_servers:$/m) });
  });

  it('accepts the deployment guide’s configs (installed vsd --check, vsd-agent --check) and its nftables ruleset (nft -c)', async () => {
    const guide = readFileSync(join(REPO, 'docs/deploy.md'), 'utf8');
    const blocks = (lang: string) => [...guide.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
    const [vsdYaml, agentYaml] = blocks('yaml');
    const keys = join(dir, 'guide');
    mkdirSync(keys);
    for (const k of ['peer.key', 'agent.key']) expect((await sh(join(root, 'usr/bin/vsd'), ['keygen', join(keys, k)])).code).toBe(0);
    const local = (text: string, name: string) => {
      const f = join(keys, name);
      writeFileSync(f, text.replaceAll('/etc/vsd/', `${keys}/`));
      return f;
    };
    expect(await sh(join(root, 'usr/bin/vsd'), ['--check', '--config', local(vsdYaml!, 'vsd.yaml')])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/OK, 1 virtual service\(s\), dataplane ipvs/),
    });
    expect(await sh(join(root, 'usr/bin/vsd-agent'), ['--check', '--config', local(agentYaml!, 'agent.yaml')])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/OK, agent web1, 2 dispatcher/),
    });
    const [ruleset] = blocks('nft');
    const nft = await sh('nft', ['-c', '-f', local(ruleset!, 'nftables.conf')]);
    expect({ code: nft.code, stderr: nft.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('starts the installed vsd (proxy dataplane, epoll engine): READY=1 to the service manager, serves a page, the installed vsctl reads its status, SIGTERM exits 0', async () => {
    const web = createServer((_req, res) => res.end('from the real server\n'));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const webPort = (web.address() as AddressInfo).port;
    const vip = createServer();
    await new Promise<void>((r) => vip.listen(0, '127.0.0.1', r));
    const vipPort = (vip.address() as AddressInfo).port;
    await new Promise((r) => vip.close(r));
    const manager = new UnixDatagramReceiver(join(dir, 'notify.sock'));
    const socket = join(dir, 'vsd.sock');
    const config = join(dir, 'vsd.yaml');
    writeFileSync(
      config,
      `proxy_engine: epoll\nvirtual_servers:\n  - { address: 127.0.0.1:${vipPort}, lb_algo: rr, real_servers: [{ address: 127.0.0.1:${webPort} }] }\n`,
    );
    const vsd = spawn(join(root, 'usr/bin/vsd'), ['--config', config, '--socket', socket, '--state', 'none', '--dataplane', 'proxy'], {
      env: { ...process.env, NOTIFY_SOCKET: manager.path },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      expect((await manager.receive(20_000)).toString()).toBe('READY=1\nSTATUS=ready: 1 virtual service on the proxy dataplane, generation 1');
      const page = await new Promise<string>((resolve, reject) =>
        get({ host: '127.0.0.1', port: vipPort, path: '/', agent: false, timeout: 5000 }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        }).on('error', reject),
      );
      expect(page).toBe('from the real server\n');
      const st = await sh(join(root, 'usr/bin/vsctl'), ['--socket', socket, 'status']);
      expect(st.code).toBe(0);
      expect(st.stdout).toMatch(/dataplane proxy \(engine: epoll\)/);
      vsd.kill('SIGTERM');
      expect((await manager.receive()).toString()).toMatch(/^STOPPING=1/);
      expect(await new Promise((r) => vsd.once('exit', r))).toBe(0);
    } finally {
      vsd.kill('SIGKILL');
      manager.close();
      web.close();
    }
  });

  it('ships units that systemd accepts, with the exposure systemd-analyze measures', async () => {
    const units = join(dir, 'units');
    mkdirSync(units);
    for (const u of ['vsd.service', 'vsd-agent.service']) {
      // verify wants the ExecStart binaries to exist: point them at the scratch root.
      writeFileSync(join(units, u), readFileSync(join(root, 'lib/systemd/system', u), 'utf8').replaceAll('/usr/bin/vsd', join(root, 'usr/bin/vsd')));
    }
    const verify = await sh('systemd-analyze', ['verify', '--man=no', join(units, 'vsd.service'), join(units, 'vsd-agent.service')]);
    expect({ code: verify.code, out: verify.stdout + verify.stderr }).toEqual({ code: 0, out: '' });
    const exposure = async (u: string) => {
      const r = await sh('systemd-analyze', ['security', '--offline=yes', `--root=${root}`, u]);
      return Number(/Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout + r.stderr)?.[1]);
    };
    // packaging/README.md lists these figures (7.0 MEDIUM and 9.0 UNSAFE before the hardening).
    expect(await exposure('vsd.service')).toBeLessThanOrEqual(2.0);
    expect(await exposure('vsd-agent.service')).toBeLessThanOrEqual(1.5);
  });

  it('reinstalls over itself (the upgrade path), keeping the users and an edited conffile', async () => {
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
    const conf = join(root, 'etc/vsd/vsd.yaml');
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}\n# edited by the operator\n`);
    const r = await dpkg('--force-confold', '-i', debs.vsd, debs.agent);
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8')).toBe(passwd);
    expect(readFileSync(conf, 'utf8')).toMatch(/# edited by the operator/);
  });

  it('removes (conffiles stay) and purges (conffiles and state go)', async () => {
    mkdirSync(join(root, 'var/lib/vsd'), { recursive: true });
    writeFileSync(join(root, 'var/lib/vsd/state.json'), '{}');
    expect((await dpkg('-r', 'vsd', 'vsd-agent')).code).toBe(0);
    expect(existsSync(join(root, 'usr/bin/vsd'))).toBe(false);
    expect(existsSync(join(root, 'usr/lib/vsd'))).toBe(false);
    expect(existsSync(join(root, 'etc/vsd/vsd.yaml'))).toBe(true);
    expect((await dpkg('-P', 'vsd', 'vsd-agent')).code).toBe(0);
    expect(existsSync(join(root, 'etc/vsd/vsd.yaml'))).toBe(false);
    expect(existsSync(join(root, 'var/lib/vsd'))).toBe(false);
    expect(existsSync(join(root, 'usr/bin')) ? readdirSync(join(root, 'usr/bin')) : []).toEqual([]);
  });
});
