/**
 * `vsd-agent setup-dr | setup-tun | teardown` inside a namespace: the VIP and sysctls LVS needs, idempotent, and a
 * teardown that leaves the namespace exactly as it was (compared with `ip addr`, `ip link` and the sysctls).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Host, type Lab } from '../lib/netns.js';
import { AGENT_BIN, run } from './agent-helpers.js';

const SYSCTLS = ['arp_ignore', 'arp_announce', 'rp_filter'].flatMap((k) => ['all', 'default', 'lo', 'eth0', 'tunl0'].map((d) => `net.ipv4.conf.${d}.${k}`));

async function snapshot(h: Host): Promise<string> {
  const addr = await h.exec('ip', ['-o', 'addr', 'show']);
  const link = await h.exec('ip', ['-o', 'link', 'show']);
  const sys = await h.exec('sh', ['-c', SYSCTLS.map((s) => `echo ${s}=$(cat /proc/sys/${s.replace(/\./g, '/')} 2>/dev/null)`).join('; ')]);
  // lifetimes, the transient IPv6 DAD flag and link statistics are not configuration
  return [addr.stdout.replace(/\s+valid_lft.*$/gm, '').replace(/ tentative\b/g, ''), link.stdout.replace(/\\\s+link\/.*$/gm, ''), sys.stdout].join('\n---\n');
}

describe('agents: real-server setup for DR and TUN', () => {
  let lab: Lab;
  let dir: string;
  let web: Host;
  const agent = (...args: string[]) => web.exec(process.execPath, [AGENT_BIN, ...args, '--state', join(dir, 'rs-setup.json')]);

  beforeAll(async () => {
    lab = await createLab([{ name: 'web1', address: '10.77.0.21/24' }]);
    web = lab.host('web1');
    dir = mkdtempSync(join(tmpdir(), 'vsdt-agent-setup-'));
  });

  afterAll(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('setup-dr puts the VIP on lo with arp_ignore=1 and arp_announce=2, is idempotent, and teardown restores everything', async () => {
    const before = await snapshot(web);
    const r = await agent('setup-dr', '--vip', '10.77.0.100');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('changed: address 10.77.0.100/32 on lo');
    expect((await web.exec('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'])).stdout).toContain('inet 10.77.0.100/32');
    expect((await web.exec('cat', ['/proc/sys/net/ipv4/conf/all/arp_ignore', '/proc/sys/net/ipv4/conf/all/arp_announce'])).stdout).toBe('1\n2\n');
    const again = await agent('setup-dr', '--vip', '10.77.0.100');
    expect(again.stdout).toBe('nothing to change\n');
    const v6 = await agent('setup-dr', '--vip', '2001:db8::100', '--json');
    expect(JSON.parse(v6.stdout).changed).toEqual([{ kind: 'addr', dev: 'lo', cidr: '2001:db8::100/128' }]);
    const td = await agent('teardown');
    expect(td.code, td.stdout).toBe(0);
    expect(await snapshot(web)).toBe(before);
    expect((await agent('teardown')).stdout).toBe('nothing to undo\n');
  });

  it('setup-tun --decap ipip either reports the missing ipip module clearly, changing nothing, or sets up tunl0 and undoes it', async () => {
    const ipip = (await run('modprobe', ['-n', 'ipip'])).code === 0;
    if (ipip) await run('modprobe', ['ipip']);
    const before = await snapshot(web);
    const r = await agent('setup-tun', '--vip', '10.77.0.100', '--decap', 'ipip');
    if (!ipip) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /TUN needs the ipip kernel module for the tunl0 device, and it is not available here \(modprobe ipip: .*\); use --decap bpf, DR or a kernel with ipip \[VSD_ERR_RS_SETUP\]/,
      );
    } else {
      expect(r.code, r.stderr).toBe(0);
      expect((await web.exec('ip', ['-o', '-4', 'addr', 'show', 'dev', 'tunl0'])).stdout).toContain('inet 10.77.0.100/32');
      expect((await web.exec('cat', ['/proc/sys/net/ipv4/conf/tunl0/rp_filter', '/proc/sys/net/ipv4/conf/all/rp_filter'])).stdout).toBe('0\n0\n');
      expect((await agent('teardown')).code).toBe(0);
    }
    expect(await snapshot(web)).toBe(before);
  });

  it('setup-tun --decap bpf attaches the decapsulator to eth0 with the VIP on lo, and teardown restores everything', async () => {
    const before = await snapshot(web);
    const r = await agent('setup-tun', '--vip', '10.77.0.100', '--decap', 'bpf', '--dev', 'eth0', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).changed.map((c: { kind: string }) => c.kind)).toEqual(['addr', 'sysctl', 'sysctl', 'xdp-decap', 'decap-addr']);
    expect((await web.exec('ip', ['-o', 'link', 'show', 'dev', 'eth0'])).stdout).toMatch(/prog\/xdp id \d+/);
    const td = await agent('teardown');
    expect(td.code, td.stdout).toBe(0);
    expect((await web.exec('ip', ['-o', 'link', 'show', 'dev', 'eth0'])).stdout).not.toMatch(/xdp/);
    expect(await snapshot(web)).toBe(before);
  });

  it('a decapsulator someone detached since is reported, set up anew by setup-tun, and left alone by teardown', async () => {
    const before = await snapshot(web);
    expect((await agent('setup-tun', '--vip', '10.77.0.100', '--decap', 'bpf', '--dev', 'eth0')).code).toBe(0);
    expect((await web.exec('ip', ['link', 'set', 'dev', 'eth0', 'xdp', 'off'])).code).toBe(0);
    const st = await agent('decap-status');
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/^eth0: NOT attached vips=- /);
    // as after a reboot: the record is stale, so setup-tun attaches a new decapsulator (and records it)
    const again = await agent('setup-tun', '--vip', '10.77.0.100', '--decap', 'bpf', '--dev', 'eth0');
    expect(again.stdout).toMatch(/changed: BPF decapsulator on eth0/);
    expect((await agent('decap-status', '--json')).stdout).toMatch(/"attached":true/);
    const td = await agent('teardown');
    expect(td.code).toBe(1);
    expect(td.stdout).toMatch(
      /left alone: BPF decapsulator on eth0 \(XDP native, program id \d+\) \(the decapsulator \(program id \d+\) is no longer attached to eth0\)/,
    );
    expect(await snapshot(web)).toBe(before);
  });
});
