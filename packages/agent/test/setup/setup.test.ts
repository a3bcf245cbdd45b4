import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setupDr, setupTun, teardown } from '../../src/setup/setup.js';
import type { RsSystem, RunResult } from '../../src/setup/system.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const statePath = () => join(dir, `state-${n++}.json`);

/** A host in memory: addresses per device, link flags, sysctls, and whether ipip can be loaded. */
class FakeHost implements RsSystem {
  addrs = new Map<string, string[]>([['lo', ['127.0.0.1/8']], ['eth0', ['10.0.0.5/24']]]);
  up = new Set(['lo', 'eth0']);
  sysctls = new Map<string, string>([
    ['net.ipv4.conf.all.arp_ignore', '0'],
    ['net.ipv4.conf.all.arp_announce', '0'],
    ['net.ipv4.conf.all.rp_filter', '2'],
  ]);
  ipipAvailable = true;
  calls: string[][] = [];

  private ok(stdout = ''): RunResult {
    return { code: 0, stdout, stderr: '' };
  }

  async ip(args: string[]): Promise<RunResult> {
    this.calls.push(args);
    const a = args.filter((x) => x !== '-o' && x !== '-4' && x !== '-6');
    const dev = a[a.indexOf('dev') + 1]!;
    if (!this.addrs.has(dev)) return { code: 1, stdout: '', stderr: `Device "${dev}" does not exist.` };
    if (a[0] === 'addr' && a[1] === 'show') return this.ok(this.addrs.get(dev)!.map((c) => `1: ${dev}    inet${c.includes(':') ? '6' : ''} ${c} scope host ${dev}\n`).join(''));
    if (a[0] === 'addr' && a[1] === 'add') {
      if (this.addrs.get(dev)!.includes(a[2]!)) return { code: 2, stdout: '', stderr: 'RTNETLINK answers: File exists' };
      this.addrs.get(dev)!.push(a[2]!);
      return this.ok();
    }
    if (a[0] === 'addr' && a[1] === 'del') {
      const l = this.addrs.get(dev)!;
      if (!l.includes(a[2]!)) return { code: 2, stdout: '', stderr: 'RTNETLINK answers: Cannot assign requested address' };
      l.splice(l.indexOf(a[2]!), 1);
      return this.ok();
    }
    if (a[0] === 'link' && a[1] === 'show') return this.ok(`5: ${dev}: <NOARP${this.up.has(dev) ? ',UP,LOWER_UP' : ''}> mtu 1480\n`);
    if (a[0] === 'link' && a[1] === 'set') {
      if (a.at(-1) === 'up') this.up.add(dev);
      else this.up.delete(dev);
      return this.ok();
    }
    return { code: 1, stdout: '', stderr: `unexpected ip ${args.join(' ')}` };
  }

  async modprobe(m: string): Promise<RunResult> {
    if (m !== 'ipip' || !this.ipipAvailable) return { code: 1, stdout: '', stderr: `modprobe: FATAL: Module ${m} not found in directory /lib/modules/6.1.0` };
    this.addrs.set('tunl0', []);
    this.sysctls.set('net.ipv4.conf.tunl0.rp_filter', '0');
    return this.ok();
  }

  readSysctl(name: string): string | null {
    return this.sysctls.get(name) ?? null;
  }

  writeSysctl(name: string, value: string): void {
    if (!this.sysctls.has(name)) throw new Error('ENOENT');
    this.sysctls.set(name, value);
  }

  snapshot(): string {
    return JSON.stringify({ a: [...this.addrs], u: [...this.up].sort(), s: [...this.sysctls] });
  }
}

describe('setup-dr / teardown', () => {
  it('puts the VIP on lo with the ARP sysctls, records it, and teardown restores the host exactly', async () => {
    const h = new FakeHost();
    const before = h.snapshot();
    const p = statePath();
    const made = await setupDr(h, '10.0.0.100', p);
    expect(made).toEqual([
      { kind: 'addr', dev: 'lo', cidr: '10.0.0.100/32' },
      { kind: 'sysctl', name: 'net.ipv4.conf.all.arp_ignore', before: '0', after: '1' },
      { kind: 'sysctl', name: 'net.ipv4.conf.all.arp_announce', before: '0', after: '2' },
    ]);
    expect(JSON.parse(readFileSync(p, 'utf8')).changes).toEqual(made);
    expect(h.addrs.get('lo')).toContain('10.0.0.100/32');
    const r = await teardown(h, p);
    expect(r.skipped).toEqual([]);
    expect(r.reverted.map((c) => c.kind)).toEqual(['sysctl', 'sysctl', 'addr']);
    expect(h.snapshot()).toBe(before);
    expect(existsSync(p)).toBe(false);
  });

  it('is idempotent and never takes ownership of what was already there', async () => {
    const h = new FakeHost();
    h.sysctls.set('net.ipv4.conf.all.arp_ignore', '1');
    h.addrs.get('lo')!.push('10.0.0.100/32');
    const p = statePath();
    expect(await setupDr(h, '10.0.0.100', p)).toEqual([{ kind: 'sysctl', name: 'net.ipv4.conf.all.arp_announce', before: '0', after: '2' }]);
    expect(await setupDr(h, '10.0.0.100', p)).toEqual([]);
    await teardown(h, p);
    expect(h.addrs.get('lo')).toContain('10.0.0.100/32');
    expect(h.sysctls.get('net.ipv4.conf.all.arp_ignore')).toBe('1');
    expect(h.sysctls.get('net.ipv4.conf.all.arp_announce')).toBe('0');
  });

  it('uses /128 for an IPv6 VIP and leaves ARP sysctls alone only when they are set', async () => {
    const h = new FakeHost();
    const made = await setupDr(h, '2001:DB8::100', statePath());
    expect(made[0]).toEqual({ kind: 'addr', dev: 'lo', cidr: '2001:db8::100/128' });
  });

  it('leaves a sysctl someone changed since setup alone and says so', async () => {
    const h = new FakeHost();
    const p = statePath();
    await setupDr(h, '10.0.0.100', p);
    h.sysctls.set('net.ipv4.conf.all.arp_announce', '1');
    const r = await teardown(h, p);
    expect(r.skipped).toEqual([
      {
        change: { kind: 'sysctl', name: 'net.ipv4.conf.all.arp_announce', before: '0', after: '2' },
        reason: 'net.ipv4.conf.all.arp_announce is 1 now, not the 2 setup wrote',
      },
    ]);
    expect(h.sysctls.get('net.ipv4.conf.all.arp_announce')).toBe('1');
  });

  it('refuses a bad VIP', async () => {
    await expect(setupDr(new FakeHost(), '10.0.0.300', statePath())).rejects.toMatchObject({ code: 'VSD_ERR_RS_SETUP' });
  });
});

describe('setup-tun', () => {
  it('loads ipip, brings tunl0 up with the VIP, sets ARP and rp_filter, and teardown undoes it', async () => {
    const h = new FakeHost();
    const p = statePath();
    const made = await setupTun(h, '10.0.0.100', p);
    expect(made).toEqual([
      { kind: 'link-up', dev: 'tunl0' },
      { kind: 'addr', dev: 'tunl0', cidr: '10.0.0.100/32' },
      { kind: 'sysctl', name: 'net.ipv4.conf.all.arp_ignore', before: '0', after: '1' },
      { kind: 'sysctl', name: 'net.ipv4.conf.all.arp_announce', before: '0', after: '2' },
      { kind: 'sysctl', name: 'net.ipv4.conf.all.rp_filter', before: '2', after: '0' },
    ]);
    const afterModule = new FakeHost();
    await afterModule.modprobe('ipip');
    await teardown(h, p);
    expect(h.snapshot()).toBe(afterModule.snapshot());
  });

  it('says clearly that the ipip module is missing, changing nothing', async () => {
    const h = new FakeHost();
    h.ipipAvailable = false;
    const before = h.snapshot();
    const p = statePath();
    await expect(setupTun(h, '10.0.0.100', p)).rejects.toThrow(/TUN needs the ipip kernel module .*Module ipip not found/);
    expect(h.snapshot()).toBe(before);
    expect(existsSync(p)).toBe(false);
  });

  it('undoes its own partial work when a step fails', async () => {
    const h = new FakeHost();
    await h.modprobe('ipip');
    h.sysctls.delete('net.ipv4.conf.tunl0.rp_filter');
    const before = h.snapshot();
    await expect(setupTun(h, '10.0.0.100', statePath())).rejects.toThrow(/sysctl net.ipv4.conf.tunl0.rp_filter does not exist/);
    expect(h.snapshot()).toBe(before);
  });
});
