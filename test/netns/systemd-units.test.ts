/**
 * The packaged units under a real systemd: the .debs are installed into a scratch root (dpkg --root), and
 * systemd-nspawn boots systemd as PID 1 in a container whose root is an overlay of this host's root (writes go to a
 * tmpfs; its own network namespace with only lo, so nothing reaches the host's network), with the scratch root at
 * /mnt and the units in /run/systemd/system (paths pointed at /mnt). A oneshot unit in the container then checks,
 * as an operator would with systemctl: Type=notify readiness and STATUS=, the users, capabilities, no-new-privileges
 * and seccomp of both services, port 80 bound by the unprivileged vsd (CAP_NET_BIND_SERVICE) and a page served
 * through it, the agent reporting, watchdog pings, `systemctl reload` (RELOADING=1/READY=1), systemd-analyze's
 * figures, and a clean stop with ExecStopPost. Root tier: overlayfs, nspawn (systemd-container).
 */
import { execFile } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, requireBuild, tempDir } from '../lib/vsd-proc.js';

const exec = promisify(execFile);
async function sh(file: string, args: string[], env: Record<string, string> = {}, timeout = 180_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(file, args, { env: { ...process.env, ...env }, timeout, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

const PROBE = `#!/bin/sh
# Runs inside the container once both services are up; KEY=VALUE lines, then the journal.
out=/media/result.txt
exec >$out 2>&1
show() { for p in ActiveState SubState StatusText NRestarts Result MainPID WatchdogTimestampMonotonic; do echo "$1.$p=$(systemctl show "$1" -p $p --value)"; done; }
field() { awk -v k="$2:" '$1 == k { print $2 }' /proc/$1/status; }
for i in $(seq 1 50); do systemctl -q is-active vsd-agent && [ -n "$(curl -s --max-time 1 http://127.0.0.1/)" ] && break; sleep 0.2; done
sleep 2.5
show vsd; show vsd-agent
for u in vsd vsd-agent; do pid=$(systemctl show $u -p MainPID --value); for f in Uid CapEff CapAmb CapBnd NoNewPrivs Seccomp; do echo "$u.$f=$(field $pid $f)"; done; done
echo "page1=$(curl -s --max-time 3 http://127.0.0.1/)"
echo "page2=$(curl -s --max-time 3 http://127.0.0.1/)"
echo "agents=$(/mnt/usr/bin/vsctl agents | grep -c 'web1  up')"
systemctl reload vsd; echo "reload.rc=$?"; echo "vsd.reloaded=$(systemctl show vsd -p StatusText --value)"
systemd-analyze security vsd vsd-agent | awk '/\\.service/ { print "exposure." $1 "=" $2 }'
systemctl stop vsd vsd-agent
echo "stopped.vsd=$(systemctl show vsd -p ActiveState --value)/$(systemctl show vsd -p Result --value)"
echo "--- journal"
journalctl -u vsd -u vsd-agent --no-pager -o cat
echo END
systemctl poweroff --no-block
`;

let dir: string;
let result: Record<string, string> = {};
let journal = '';
const mounts: string[] = [];

beforeAll(async () => {
  requireBuild();
  for (const tool of ['dpkg', 'systemd-nspawn', 'systemd-analyze'])
    if ((await sh('sh', ['-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} is missing (scripts/install-deps.sh installs it)`);
  dir = tempDir('units');
  const build = await sh('bash', [join(REPO, 'packaging/deb/build.sh'), join(dir, 'debs')], { SKIP_BUILD: '1', DEB_COMPRESS: 'none' });
  if (build.code !== 0) throw new Error(`build.sh failed: ${build.stderr}`);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  writeFileSync(join(root, 'var/lib/dpkg/available'), '');
  // The host's users, so the package's system users get ids nobody else has in the container.
  mkdirSync(join(root, 'etc'));
  for (const f of ['passwd', 'group', 'shadow', 'gshadow']) copyFileSync(`/etc/${f}`, join(root, 'etc', f));
  const debs = build.stdout.trim().split('\n');
  const install = await sh('dpkg', [`--root=${root}`, '--force-script-chrootless', '--force-depends', '-i', ...debs]);
  if (install.code !== 0) throw new Error(`dpkg -i failed: ${install.stderr}`);
  const uid = (user: string) => Number(readFileSync(join(root, 'etc/passwd'), 'utf8').match(new RegExp(`^${user}:x:(\\d+):`, 'm'))![1]);

  // Configs: a proxy service on port 80 in front of a page on 8080, the agent of that page reporting to vsd.
  const etc = join(root, 'etc/vsd');
  writeFileSync(join(etc, 'vsd.yaml'), 'dataplane: proxy\nagents: { listen: 127.0.0.1:9182, key_file: /mnt/etc/vsd/hub.key }\nvirtual_servers:\n  - address: 127.0.0.1:80\n    lb_algo: rr\n    real_servers:\n      - { address: 127.0.0.1:8080, weight: 4, checks: [ { tcp_check: {}, connect_timeout: 1 } ] }\n');
  writeFileSync(join(etc, 'agent.yaml'), 'name: web1\naddresses: [127.0.0.1]\ndispatchers: [127.0.0.1:9182]\nkey_file: /mnt/etc/vsd/agent.key\nreport_interval: 0.5\nprobe: { http_get: { url: http://127.0.0.1:8080/, status_code: 200 }, timeout: 1 }\n');
  expect((await sh(join(root, 'usr/bin/vsd'), ['keygen', join(etc, 'agent.key')])).code).toBe(0);
  copyFileSync(join(etc, 'agent.key'), join(etc, 'hub.key'));
  chownSync(join(etc, 'agent.key'), uid('vsd-agent'), uid('vsd-agent'));
  chownSync(join(etc, 'hub.key'), uid('vsd'), uid('vsd'));

  const units = join(dir, 'units');
  mkdirSync(units);
  for (const u of ['vsd.service', 'vsd-agent.service'])
    writeFileSync(join(units, u), readFileSync(join(root, 'lib/systemd/system', u), 'utf8').replaceAll('/usr/bin/vsd', '/mnt/usr/bin/vsd').replaceAll('/etc/vsd/', '/mnt/etc/vsd/'));
  writeFileSync(join(dir, 'web.js'), "require('http').createServer((q, s) => s.end('page through vsd')).listen(8080, '127.0.0.1');\n");
  writeFileSync(join(units, 'web.service'), '[Service]\nDynamicUser=yes\nExecStart=/usr/bin/node /web.js\n');
  writeFileSync(join(dir, 'probe.sh'), PROBE, { mode: 0o755 });
  writeFileSync(join(units, 'probe.service'), '[Unit]\nAfter=vsd.service vsd-agent.service web.service\n[Service]\nType=oneshot\nExecStart=/probe.sh\n');
  writeFileSync(join(units, 'vsd-test.target'), '[Unit]\nRequires=sysinit.target\nAfter=sysinit.target\nWants=web.service vsd.service vsd-agent.service probe.service\nAllowIsolate=yes\n');

  // The container's root: the host's root filesystem (no submounts, so an empty /dev) under a tmpfs overlay.
  const upper = join(dir, 'upper');
  const ovl = join(dir, 'ovl');
  mkdirSync(upper);
  mkdirSync(ovl);
  expect((await sh('mount', ['-t', 'tmpfs', 'tmpfs', upper])).code).toBe(0);
  mounts.unshift(upper);
  mkdirSync(join(upper, 'up'));
  mkdirSync(join(upper, 'work'));
  const ov = await sh('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${upper}/up,workdir=${upper}/work`, ovl]);
  if (ov.code !== 0) throw new Error(`overlay mount failed: ${ov.stderr}`);
  mounts.unshift(ovl);
  const out = join(dir, 'out');
  mkdirSync(out);
  const binds = [`--bind-ro=${root}:/mnt`, `--bind=${out}:/media`, `--bind-ro=${units}:/run/systemd/system`, `--bind-ro=${join(dir, 'probe.sh')}:/probe.sh`, `--bind-ro=${join(dir, 'web.js')}:/web.js`];
  for (const f of ['passwd', 'group', 'shadow']) binds.push(`--bind-ro=${join(root, 'etc', f)}:/etc/${f}`);
  const boot = await sh('systemd-nspawn', ['-D', ovl, '--private-network', '--register=no', '--keep-unit', '-q', ...binds, '-b', '--', 'systemd.unit=vsd-test.target'], {}, 150_000);
  const text = readFileSync(join(out, 'result.txt'), 'utf8');
  if (!text.includes('\nEND')) throw new Error(`the container did not finish (nspawn exit ${boot.code}): ${text}\n${boot.stdout.slice(-3000)}${boot.stderr}`);
  const [fields, log] = text.split('--- journal\n');
  result = Object.fromEntries(fields!.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  journal = log ?? '';
}, 300_000);

afterAll(async () => {
  for (const m of mounts) await sh('umount', [m]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packaged units under systemd (nspawn)', () => {
  it('start as Type=notify services: active, the READY status line, no restart', () => {
    expect({ state: result['vsd.ActiveState'], sub: result['vsd.SubState'], restarts: result['vsd.NRestarts'] }).toEqual({ state: 'active', sub: 'running', restarts: '0' });
    expect(result['vsd.StatusText']).toBe('ready: 1 virtual service on the proxy dataplane, generation 1');
    expect({ state: result['vsd-agent.ActiveState'], restarts: result['vsd-agent.NRestarts'] }).toEqual({ state: 'active', restarts: '0' });
    expect(result['vsd-agent.StatusText']).toBe('reporting to 127.0.0.1:9182');
  });

  it('run vsd as its user with exactly NET_BIND_SERVICE, NET_ADMIN, NET_RAW (ambient), the agent with none; both no-new-privileges and seccomp', () => {
    const vsdUid = /^vsd:x:(\d+):/m.exec(readFileSync(join(dir, 'root/etc/passwd'), 'utf8'))![1];
    expect(result['vsd.Uid']).toBe(vsdUid);
    // bits 10, 12, 13: CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW
    expect({ eff: result['vsd.CapEff'], amb: result['vsd.CapAmb'], bnd: result['vsd.CapBnd'] }).toEqual({ eff: '0000000000003400', amb: '0000000000003400', bnd: '0000000000003400' });
    expect({ eff: result['vsd-agent.CapEff'], bnd: result['vsd-agent.CapBnd'] }).toEqual({ eff: '0000000000000000', bnd: '0000000000000000' });
    for (const u of ['vsd', 'vsd-agent']) expect({ u, nnp: result[`${u}.NoNewPrivs`], seccomp: result[`${u}.Seccomp`] }).toEqual({ u, nnp: '1', seccomp: '2' });
    expect(result['vsd-agent.Uid']).not.toBe('0');
  });

  it('serve through port 80 (bound without root) under the syscall filter, with the agent reporting and watchdog pings', () => {
    expect([result.page1, result.page2]).toEqual(['page through vsd', 'page through vsd']);
    expect(result.agents).toBe('1');
    expect(Number(result['vsd.WatchdogTimestampMonotonic'])).toBeGreaterThan(0);
    expect(journal).not.toMatch(/"level":(50|60)/);
  });

  it('reload through RELOADING=1/READY=1, keep systemd-analyze’s figures, and stop cleanly (ExecStopPost included)', () => {
    expect(result['reload.rc']).toBe('0');
    expect(result['vsd.reloaded']).toBe('reloaded: 1 virtual service on the proxy dataplane, generation 1');
    expect(Number(result['exposure.vsd.service'])).toBeLessThanOrEqual(2.0);
    expect(Number(result['exposure.vsd-agent.service'])).toBeLessThanOrEqual(1.5);
    expect(result['stopped.vsd']).toBe('inactive/success');
    expect(journal).toMatch(/"msg":"vsd stopped"/);
  });
});
