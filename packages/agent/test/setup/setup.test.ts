import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfError } from '@vsd/core';
import { ADDR_LOCAL, ADDR_VIP, possibleCpus, type AttachMode, type DecapAttachment, type DecapHost, type DecapStats } from '../../src/setup/decap.js';
import { decapStatus, setupDr, setupTun, teardown } from '../../src/setup/setup.js';
import type { RsSystem, RunResult } from '../../src/setup/system.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const statePath = () => join(dir, `state-${n++}.json`);

/** A host in memory: addresses per device, link flags, sysctls, and whether ipip can be loaded. */
class FakeHost implements RsSystem {
  addrs = new Map<string, string[]>([
    ['lo', ['127.0.0.1/8']],
    ['eth0', ['10.0.0.5/24']],
  ]);
  up = new Set(['lo', 'eth0']);
  sysctls = new Map<string, string>([
    ['net.ipv4.conf.all.arp_ignore', '0'],
    ['net.ipv4.conf.all.arp_announce', '0'],
    ['net.ipv4.conf.all.rp_filter', '2'],
  ]);
  ipipAvailable = true;
  defaultDev: string | null = 'eth0';
  decap?: FakeDecap;
  calls: string[][] = [];

  private ok(stdout = ''): RunResult {
    return { code: 0, stdout, stderr: '' };
  }

  async ip(args: string[]): Promise<RunResult> {
    this.calls.push(args);
    const a = args.filter((x) => x !== '-o' && x !== '-4' && x !== '-6');
    if (a[0] === 'route' && a[1] === 'show') return this.ok(this.defaultDev ? `default via 10.0.0.1 dev ${this.defaultDev} \n` : '');
    const dev = a[a.indexOf('dev') + 1]!;
    if (!this.addrs.has(dev)) return { code: 1, stdout: '', stderr: `Device "${dev}" does not exist.` };
    if (a[0] === 'addr' && a[1] === 'show')
      return this.ok(
        this.addrs
          .get(dev)!
          .map((c) => `1: ${dev}    inet${c.includes(':') ? '6' : ''} ${c} scope host ${dev}\n`)
          .join(''),
      );
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
    return JSON.stringify({ a: [...this.addrs], u: [...this.up].sort(), s: [...this.sysctls], x: this.decap?.snapshot() });
  }
}

/** The kernel side of the decapsulator in memory: XDP attachments per interface, maps by id. */
class FakeDecap implements DecapHost {
  nextId = 100;
  ifaces = new Map<string, number>([
    ['eth0', 2],
    ['lo', 1],
  ]);
  attached = new Map<string, number>(); // `${ifindex}/${mode}` -> prog id
  progs = new Map<number, string>();
  addrMaps = new Map<number, Map<string, number>>();
  confMaps = new Map<number, number>();
  attachError: BpfError | null = null;
  nativeSupported = true;

  ifindex(dev: string): number {
    return this.ifaces.get(dev) ?? 0;
  }
  attachedProgId(ifindex: number, mode: AttachMode): number {
    return this.attached.get(`${ifindex}/${mode}`) ?? 0;
  }
  attach(ifindex: number, local: readonly string[], guePort: number): DecapAttachment {
    if (this.attachError) throw this.attachError;
    const progId = this.nextId++;
    const addrsMapId = this.nextId++;
    const confMapId = this.nextId++;
    const statsMapId = this.nextId++;
    this.progs.set(progId, 'vsd_rs_decap');
    this.addrMaps.set(addrsMapId, new Map(local.map((a) => [a, ADDR_LOCAL])));
    this.confMaps.set(confMapId, guePort);
    const mode: AttachMode = this.nativeSupported ? 'native' : 'generic';
    this.attached.set(`${ifindex}/${mode}`, progId);
    return { mode, progId, addrsMapId, confMapId, statsMapId };
  }
  detach(ifindex: number, mode: AttachMode): void {
    const id = this.attached.get(`${ifindex}/${mode}`)!;
    this.attached.delete(`${ifindex}/${mode}`);
    // the program and its maps go with the last reference
    for (const [k, v] of [...this.addrMaps]) if (k === id + 1) this.addrMaps.delete(k), void v;
    this.confMaps.delete(id + 2);
    this.progs.delete(id);
  }
  mapName(mapId: number): string | null {
    if (this.addrMaps.has(mapId)) return 'vsd_decap_addrs';
    if (this.confMaps.has(mapId)) return 'vsd_decap_conf';
    if (this.progs.has(mapId - 3)) return 'vsd_decap_stats';
    return null;
  }
  progName(progId: number): string | null {
    return this.progs.get(progId) ?? null;
  }
  addrKinds(mapId: number, addr: string): number {
    return this.addrMaps.get(mapId)!.get(addr) ?? 0;
  }
  setAddrKinds(mapId: number, addr: string, kinds: number): void {
    if (kinds) this.addrMaps.get(mapId)!.set(addr, kinds);
    else this.addrMaps.get(mapId)!.delete(addr);
  }
  guePort(confMapId: number): number {
    return this.confMaps.get(confMapId)!;
  }
  setGuePort(confMapId: number, port: number): void {
    this.confMaps.set(confMapId, port);
  }
  stats(): DecapStats {
    return { decapIpip: 3, decapGue: 0, notOurs: 1, fragment: 0, malformed: 0, ecnDrop: 0 };
  }
  snapshot(): unknown {
    return { a: [...this.attached], m: [...this.addrMaps].map(([k, v]) => [k, [...v]]) };
  }
}

function bpfHost(): FakeHost & { decap: FakeDecap } {
  const h = new FakeHost() as FakeHost & { decap: FakeDecap };
  h.ipipAvailable = false;
  h.decap = new FakeDecap();
  return h;
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

describe('setup-tun with the BPF decapsulator', () => {
  it('falls back to BPF where ipip is missing: VIP on lo, ARP sysctls, the decapsulator on the default route interface', async () => {
    const h = bpfHost();
    const before = h.snapshot();
    const p = statePath();
    const made = await setupTun(h, '10.0.0.100', p);
    expect(made).toEqual([
      { kind: 'addr', dev: 'lo', cidr: '10.0.0.100/32' },
      { kind: 'sysctl', name: 'net.ipv4.conf.all.arp_ignore', before: '0', after: '1' },
      { kind: 'sysctl', name: 'net.ipv4.conf.all.arp_announce', before: '0', after: '2' },
      { kind: 'xdp-decap', dev: 'eth0', mode: 'native', progId: 100, addrsMapId: 101, confMapId: 102, statsMapId: 103 },
      { kind: 'decap-addr', dev: 'eth0', addrsMapId: 101, addr: '10.0.0.100', kinds: ADDR_VIP },
    ]);
    expect([...h.decap.addrMaps.get(101)!]).toEqual([
      ['10.0.0.5', ADDR_LOCAL],
      ['10.0.0.100', ADDR_VIP],
    ]);
    expect(h.sysctls.get('net.ipv4.conf.all.rp_filter')).toBe('2');
    expect(decapStatus(h, p)).toEqual([
      { dev: 'eth0', mode: 'native', progId: 100, attached: true, vips: ['10.0.0.100'], guePort: 0, stats: expect.objectContaining({ decapIpip: 3 }) },
    ]);
    const r = await teardown(h, p);
    expect(r.skipped).toEqual([]);
    expect(h.snapshot()).toBe(before);
  });

  it('adds a second VIP to the decapsulator it attached before, and sets the GUE port once', async () => {
    const h = bpfHost();
    const p = statePath();
    await setupTun(h, '10.0.0.100', p, { decap: 'bpf', dev: 'eth0' });
    const second = await setupTun(h, '10.0.0.101', p, { decap: 'bpf', dev: 'eth0', guePort: 6080 });
    expect(second).toEqual([
      { kind: 'addr', dev: 'lo', cidr: '10.0.0.101/32' },
      { kind: 'decap-addr', dev: 'eth0', addrsMapId: 101, addr: '10.0.0.101', kinds: ADDR_VIP },
      { kind: 'decap-gue', dev: 'eth0', confMapId: 102, before: 0, after: 6080 },
    ]);
    expect(await setupTun(h, '10.0.0.101', p, { decap: 'bpf', dev: 'eth0', guePort: 6080 })).toEqual([]);
    // an address added to eth0 since becomes an accepted outer destination on the next setup-tun
    h.addrs.get('eth0')!.push('10.0.0.6/24');
    expect(await setupTun(h, '10.0.0.101', p, { dev: 'eth0' })).toEqual([
      { kind: 'decap-addr', dev: 'eth0', addrsMapId: 101, addr: '10.0.0.6', kinds: ADDR_LOCAL },
    ]);
    expect(h.decap.attached.size).toBe(1);
    await teardown(h, p);
    expect(h.decap.attached.size).toBe(0);
  });

  it('uses generic XDP where the driver has no native mode, and refuses an interface another XDP program holds', async () => {
    const h = bpfHost();
    h.decap.nativeSupported = false;
    expect((await setupTun(h, '10.0.0.100', statePath(), { dev: 'eth0' })).find((c) => c.kind === 'xdp-decap')).toMatchObject({ mode: 'generic' });
    const other = bpfHost();
    other.decap.attached.set('2/native', 7);
    other.decap.progs.set(7, 'xdp_fw');
    const before = other.snapshot();
    await expect(setupTun(other, '10.0.0.100', statePath(), { dev: 'eth0' })).rejects.toMatchObject({
      code: 'VSD_ERR_RS_DECAP',
      message: expect.stringContaining('eth0 already has an XDP program (native, id 7, xdp_fw); detach it first'),
    });
    expect(other.snapshot()).toBe(before);
  });

  it('says which interface is missing, that BPF is not permitted, or that --dev is needed, undoing the steps before', async () => {
    const h = bpfHost();
    const before = h.snapshot();
    await expect(setupTun(h, '10.0.0.100', statePath(), { dev: 'eth9' })).rejects.toMatchObject({
      code: 'VSD_ERR_RS_DECAP',
      details: expect.objectContaining({ dev: 'eth9' }),
      message: expect.stringContaining('interface eth9 does not exist'),
    });
    h.decap.attachError = new BpfError('bpf_object__load', 1);
    await expect(setupTun(h, '10.0.0.100', statePath())).rejects.toThrow(
      /BPF is not permitted here \(bpf_object__load: EPERM\); attaching the decapsulator to eth0 needs root/,
    );
    h.defaultDev = null;
    await expect(setupTun(h, '10.0.0.100', statePath())).rejects.toThrow(/--dev is needed/);
    expect(h.snapshot()).toBe(before);
    expect(await setupTun(bpfHost(), '10.0.0.100', statePath(), { decap: 'ipip' }).catch((e: Error) => e.message)).toMatch(/TUN needs the ipip kernel module/);
    await expect(setupTun(new FakeHost(), '10.0.0.100', statePath(), { decap: 'ipip', guePort: 6080 })).rejects.toThrow(
      /--gue-port needs the BPF decapsulator/,
    );
  });

  it('teardown leaves a decapsulator someone replaced or detached alone and says so', async () => {
    const h = bpfHost();
    const p = statePath();
    await setupTun(h, '10.0.0.100', p);
    h.decap.detach(2, 'native');
    h.decap.attached.set('2/native', 555);
    const r = await teardown(h, p);
    expect(r.skipped.map((s) => s.reason)).toEqual([
      'the decapsulator on eth0 is gone (map id 101)',
      'the decapsulator (program id 100) is no longer attached to eth0 (program id 555 is)',
    ]);
    expect(h.decap.attached.get('2/native')).toBe(555);
  });

  it('counts possible CPUs as per-CPU maps do', () => {
    expect([possibleCpus('0'), possibleCpus('0-3\n'), possibleCpus('0,2-5')]).toEqual([1, 4, 6]);
  });
});

describe('the setup state file', () => {
  it('a file that is not JSON or not version 1 is a RealServerSetupError naming the path', async () => {
    const { readSetupState } = await import('../../src/setup/setup.js');
    const { writeFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'vsd-setup-state-'));
    try {
      for (const [text, why] of [
        ['{"version":2,"changes":[]}', 'unknown format'],
        ['null', 'unknown format'],
        ['{not json', 'JSON'],
      ] as const) {
        const path = join(dir, 'state.json');
        writeFileSync(path, text);
        expect(() => readSetupState(path)).toThrow(expect.objectContaining({ code: 'VSD_ERR_RS_SETUP', message: expect.stringContaining(why) }));
        expect(() => readSetupState(path)).toThrow(`state file ${path} is unreadable`);
      }
      expect(readSetupState(join(dir, 'absent.json'))).toEqual({ version: 1, changes: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
