/**
 * The packaged units under a real systemd: the .debs are installed into a scratch root (dpkg --root), and
 * systemd-nspawn boots systemd as PID 1 in a container whose root is an overlay of this host's root (writes go to a
 * tmpfs), with the scratch root at
 * /mnt and the units in /run/systemd/system (paths pointed at /mnt). A oneshot unit in the container then checks,
 * as an operator would with systemctl: Type=notify readiness and STATUS=, the users, capabilities, no-new-privileges
 * and seccomp of both services, VRRP winning the election and holding the VIP (raw sockets, rtnetlink, AF_PACKET
 * under the unit's filters), port 80 on the VIP bound by the unprivileged vsd and a page served through it to a
 * client namespace, the agent reporting, watchdog pings, `systemctl reload` (RELOADING=1/READY=1),
 * systemd-analyze's figures, and a clean stop that takes the VIP away. The container runs in a lab namespace
 * (lvs1 on the lab bridge), so nothing reaches the host's network. Root tier: overlayfs, nspawn (systemd-container).
 */
import { execFile } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, waitFor, type Lab } from '../lib/netns.js';
import { REPO, requireBuild, tempDir } from '../lib/vsd-proc.js';

const exec = promisify(execFile);
async function sh(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  timeout = 180_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
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
for i in $(seq 1 100); do systemctl -q is-active vsd-agent && ip -o addr show dev eth0 | grep -q ' 10.77.0.100/24 ' && [ -n "$(curl -s --max-time 1 http://10.77.0.100/)" ] && break; sleep 0.2; done
sleep 2.5
show vsd; show vsd-agent
echo "vip.held=$(ip -o addr show dev eth0 | grep -c ' 10.77.0.100/24 ')"
# The test curls the VIP from another namespace now, then lets the rest run.
touch /media/ready
for i in $(seq 1 150); do [ -e /media/go ] && break; sleep 0.2; done
for u in vsd vsd-agent; do pid=$(systemctl show $u -p MainPID --value); for f in Uid CapEff CapAmb CapBnd NoNewPrivs Seccomp; do echo "$u.$f=$(field $pid $f)"; done; done
echo "page1=$(curl -s --max-time 3 http://10.77.0.100/)"
echo "page2=$(curl -s --max-time 3 http://10.77.0.100/)"
echo "agents=$(/mnt/usr/bin/vsctl agents | grep -c 'web1  up')"
systemctl reload vsd; echo "reload.rc=$?"
# ExecReload (kill -HUP) can return before vsd has sent RELOADING=1, so the job may end first: wait for the outcome.
for i in $(seq 1 100); do case "$(systemctl show vsd -p StatusText --value)" in reloaded:*|*refused*) break ;; esac; sleep 0.1; done
echo "vsd.reloaded=$(systemctl show vsd -p StatusText --value)"
systemd-analyze security vsd vsd-agent | awk '/\\.service/ { print "exposure." $1 "=" $2 }'
systemctl stop vsd vsd-agent
echo "stopped.vsd=$(systemctl show vsd -p ActiveState --value)/$(systemctl show vsd -p Result --value)"
echo "vip.afterStop=$(ip -o addr show dev eth0 | grep -c ' 10.77.0.100/24 ')"
echo "--- journal"
journalctl -u vsd -u vsd-agent --no-pager -o cat
echo END
systemctl poweroff --no-block
`;

let dir: string;
let result: Record<string, string> = {};
let journal = '';
let lab: Lab | undefined;
const clientPages: string[] = [];
let clientArp = '';
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
  writeFileSync(
    join(etc, 'vsd.yaml'),
    'dataplane: proxy\nha: { instance: VI_1, interface: eth0, vrid: 51, priority: 150, advert_int: 0.05, vips: [10.77.0.100/24] }\nagents: { listen: 127.0.0.1:9182, key_file: /mnt/etc/vsd/hub.key }\nvirtual_servers:\n  - address: 10.77.0.100:80\n    lb_algo: rr\n    real_servers:\n      - { address: 127.0.0.1:8080, weight: 4, checks: [ { tcp_check: {}, connect_timeout: 1 } ] }\n',
  );
  writeFileSync(
    join(etc, 'agent.yaml'),
    'name: web1\naddresses: [127.0.0.1]\ndispatchers: [127.0.0.1:9182]\nkey_file: /mnt/etc/vsd/agent.key\nreport_interval: 0.5\nprobe: { http_get: { url: http://127.0.0.1:8080/, status_code: 200 }, timeout: 1 }\n',
  );
  expect((await sh(join(root, 'usr/bin/vsd'), ['keygen', join(etc, 'agent.key')])).code).toBe(0);
  copyFileSync(join(etc, 'agent.key'), join(etc, 'hub.key'));
  chownSync(join(etc, 'agent.key'), uid('vsd-agent'), uid('vsd-agent'));
  chownSync(join(etc, 'hub.key'), uid('vsd'), uid('vsd'));

  const units = join(dir, 'units');
  mkdirSync(units);
  for (const u of ['vsd.service', 'vsd-agent.service'])
    writeFileSync(
      join(units, u),
      readFileSync(join(root, 'lib/systemd/system', u), 'utf8')
        .replaceAll('/usr/bin/vsd', '/mnt/usr/bin/vsd')
        .replaceAll('/etc/vsd/', '/mnt/etc/vsd/'),
    );
  writeFileSync(join(dir, 'web.js'), "require('http').createServer((q, s) => s.end('page through vsd')).listen(8080, '127.0.0.1');\n");
  writeFileSync(join(units, 'web.service'), '[Service]\nDynamicUser=yes\nExecStart=/usr/bin/node /web.js\n');
  writeFileSync(join(dir, 'probe.sh'), PROBE, { mode: 0o755 });
  writeFileSync(join(units, 'probe.service'), '[Unit]\nAfter=vsd.service vsd-agent.service web.service\n[Service]\nType=oneshot\nExecStart=/probe.sh\n');
  writeFileSync(
    join(units, 'vsd-test.target'),
    '[Unit]\nRequires=sysinit.target\nAfter=sysinit.target\nWants=web.service vsd.service vsd-agent.service probe.service\nAllowIsolate=yes\n',
  );

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
  const binds = [
    `--bind-ro=${root}:/mnt`,
    `--bind=${out}:/media`,
    `--bind-ro=${units}:/run/systemd/system`,
    `--bind-ro=${join(dir, 'probe.sh')}:/probe.sh`,
    `--bind-ro=${join(dir, 'web.js')}:/web.js`,
  ];
  for (const f of ['passwd', 'group', 'shadow']) binds.push(`--bind-ro=${join(root, 'etc', f)}:/etc/${f}`);
  // The container's network: a lab namespace (lvs1, eth0 on the lab bridge), with a client namespace beside it.
  lab = await createLab([
    { name: 'lvs1', address: '10.77.0.11/24' },
    { name: 'client', address: '10.77.0.2/24' },
  ]);
  // nspawn keeps CAP_NET_ADMIN in the container only with --private-network; this namespace is as private (the
  // test made it), so it is granted back explicitly.
  const booting = sh(
    'systemd-nspawn',
    [
      '-D',
      ovl,
      `--network-namespace-path=/run/netns/${lab.host('lvs1').ns}`,
      '--capability=CAP_NET_ADMIN',
      '--register=no',
      '--keep-unit',
      '-q',
      ...binds,
      '-b',
      '--',
      'systemd.unit=vsd-test.target',
    ],
    {},
    150_000,
  );
  await waitFor('vsd in the container holding the VIP', async () => existsSync(join(out, 'ready')), 90_000, 200);
  for (let i = 0; i < 2; i++) clientPages.push((await lab.host('client').exec('curl', ['-s', '--max-time', '3', 'http://10.77.0.100/'])).stdout);
  clientArp = (await lab.host('client').exec('ip', ['neigh', 'show', '10.77.0.100'])).stdout;
  writeFileSync(join(out, 'go'), '');
  const boot = await booting;
  const text = readFileSync(join(out, 'result.txt'), 'utf8');
  if (!text.includes('\nEND')) throw new Error(`the container did not finish (nspawn exit ${boot.code}): ${text}\n${boot.stdout.slice(-3000)}${boot.stderr}`);
  const [fields, log] = text.split('--- journal\n');
  result = Object.fromEntries(
    fields!
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  journal = log ?? '';
}, 300_000);

afterAll(async () => {
  await lab?.destroy();
  for (const m of mounts) await sh('umount', [m]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packaged units under systemd (nspawn)', () => {
  it('start as Type=notify services: active, the READY status line, no restart', () => {
    expect({ state: result['vsd.ActiveState'], sub: result['vsd.SubState'], restarts: result['vsd.NRestarts'] }).toEqual({
      state: 'active',
      sub: 'running',
      restarts: '0',
    });
    expect(result['vsd.StatusText']).toBe('ready: 1 virtual service on the proxy dataplane, generation 1, VRRP VI_1 MASTER');
    expect({ state: result['vsd-agent.ActiveState'], restarts: result['vsd-agent.NRestarts'] }).toEqual({ state: 'active', restarts: '0' });
    expect(result['vsd-agent.StatusText']).toBe('reporting to 127.0.0.1:9182');
  });

  it('run vsd as its user with exactly NET_BIND_SERVICE, NET_ADMIN, NET_RAW (ambient), the agent with none; both no-new-privileges and seccomp', () => {
    const vsdUid = /^vsd:x:(\d+):/m.exec(readFileSync(join(dir, 'root/etc/passwd'), 'utf8'))![1];
    expect(result['vsd.Uid']).toBe(vsdUid);
    // bits 10, 12, 13: CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW
    expect({ eff: result['vsd.CapEff'], amb: result['vsd.CapAmb'], bnd: result['vsd.CapBnd'] }).toEqual({
      eff: '0000000000003400',
      amb: '0000000000003400',
      bnd: '0000000000003400',
    });
    expect({ eff: result['vsd-agent.CapEff'], bnd: result['vsd-agent.CapBnd'] }).toEqual({ eff: '0000000000000000', bnd: '0000000000000000' });
    for (const u of ['vsd', 'vsd-agent']) expect({ u, nnp: result[`${u}.NoNewPrivs`], seccomp: result[`${u}.Seccomp`] }).toEqual({ u, nnp: '1', seccomp: '2' });
    expect(result['vsd-agent.Uid']).not.toBe('0');
  });

  it('win the VRRP election and hold the VIP under the filters (raw socket, rtnetlink, AF_PACKET), serving it to a client on port 80', () => {
    expect(result['vip.held']).toBe('1');
    // From another namespace on the bridge: ARP resolved (the MASTER's GARP or its answer) and the page through the VIP.
    expect(clientPages).toEqual(['page through vsd', 'page through vsd']);
    expect(clientArp).toMatch(/lladdr [0-9a-f:]{17}/);
  });

  it('serve through port 80 (bound without root) under the syscall filter, with the agent reporting and watchdog pings', () => {
    expect([result.page1, result.page2]).toEqual(['page through vsd', 'page through vsd']);
    expect(result.agents).toBe('1');
    expect(Number(result['vsd.WatchdogTimestampMonotonic'])).toBeGreaterThan(0);
    expect(journal).not.toMatch(/"level":(50|60)/);
  });

  it('reload through RELOADING=1/READY=1, keep systemd-analyze’s figures, and stop cleanly (ExecStopPost included)', () => {
    expect(result['reload.rc']).toBe('0');
    expect(result['vsd.reloaded']).toBe('reloaded: 1 virtual service on the proxy dataplane, generation 1, VRRP VI_1 MASTER');
    expect(Number(result['exposure.vsd.service'])).toBeLessThanOrEqual(2.0);
    expect(Number(result['exposure.vsd-agent.service'])).toBeLessThanOrEqual(1.5);
    expect(result['stopped.vsd']).toBe('inactive/success');
    expect(result['vip.afterStop']).toBe('0');
    expect(journal).toMatch(/"msg":"vsd stopped"/);
  });
});
