import { describe, expect, it } from 'vitest';
import { HA_FILE_KEYS, HA_INSTANCE_KEYS, intervalCs, parseHaConfig } from '../src/config.js';

const base = { interface: 'eth0', vrid: 51, vips: ['10.77.0.100/24'] };

describe('ha config', () => {
  it('applies defaults: v3, 0.05 s, priority 100, preempt, keepalived GARP timings', () => {
    const c = parseHaConfig(base);
    expect(c).toMatchObject({ instance: 'VI_1', version: 3, advertIntMs: 50, priority: 100, preempt: true, preemptDelayMs: 0, trackIntervalMs: 100 });
    expect(c.garp).toEqual({
      delayMs: 5000,
      repeat: 5,
      refreshMs: 10_000,
      refreshRepeat: 1,
      intervalMs: 0,
      lowerPrioRepeat: 5,
      lowerPrioDelayMs: 5000,
    });
    expect(c.higherPrioSendAdvert).toBe(true);
    expect(c.skipCheckAdvAddr).toBe(true);
    expect(intervalCs(c)).toBe(5);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.garp) && Object.isFrozen(c.vips) && Object.isFrozen(c.trackScripts)).toBe(true);
  });
  it('converts once: camelCase options, seconds to milliseconds, the dependent defaults resolved', () => {
    const c = parseHaConfig({
      ...base,
      advert_int: 0.07,
      preempt_delay: 2.5,
      track_interval: 0.25,
      unicast_src_ip: '10.77.0.11',
      unicast_peers: ['10.77.0.12'],
      track_interfaces: ['eth1', { name: 'eth2', weight: -20 }],
      track_scripts: [
        { script: '/chk', interval: 0.5 },
        { name: 'web', script: '/web', interval: 2, timeout: 0.3, weight: 10, rise: 2, fall: 3, init_fail: true },
      ],
      garp: { master_delay: 0.5, master_refresh: 0, interval: 0.001 },
      v3_checksum_as_v2: true,
      lower_prio_no_advert: true,
      dont_track_primary: true,
    });
    expect(c).toMatchObject({ advertIntMs: 70, preemptDelayMs: 2500, trackIntervalMs: 250, unicastSrcIp: '10.77.0.11', unicastPeers: ['10.77.0.12'] });
    expect(c).toMatchObject({ v3ChecksumAsV2: true, lowerPrioNoAdvert: true, dontTrackPrimary: true, useVmac: false, vmacMode: 'private' });
    expect(c.trackInterfaces).toEqual([
      { name: 'eth1', weight: 0 },
      { name: 'eth2', weight: -20 },
    ]);
    expect(c.trackScripts).toEqual([
      { name: 'script0', script: '/chk', intervalMs: 500, timeoutMs: 500, weight: 0, rise: 1, fall: 1, initFail: false },
      { name: 'web', script: '/web', intervalMs: 2000, timeoutMs: 300, weight: 10, rise: 2, fall: 3, initFail: true },
    ]);
    expect(c.garp).toMatchObject({ delayMs: 500, refreshMs: 0, intervalMs: 1, lowerPrioDelayMs: 500 });
    // Every option has its key of the file, for what is said back to operators.
    expect(Object.keys(HA_FILE_KEYS).sort()).toEqual(Object.keys(c).sort());
    expect(HA_INSTANCE_KEYS).toEqual(expect.arrayContaining(Object.values(HA_FILE_KEYS)));
  });
  it('garp.lower_prio_* default to the master_* values (as keepalived) and are validated', () => {
    expect(parseHaConfig({ ...base, garp: { master_repeat: 2, master_delay: 1 } }).garp).toMatchObject({ lowerPrioRepeat: 2, lowerPrioDelayMs: 1000 });
    expect(parseHaConfig({ ...base, garp: { lower_prio_repeat: 0, lower_prio_delay: 0 } }).garp).toMatchObject({ lowerPrioRepeat: 0, lowerPrioDelayMs: 0 });
    expect(() => parseHaConfig({ ...base, garp: { lower_prio_repeat: 256 } })).toThrow(/ha\.garp\.lower_prio_repeat/);
    expect(() => parseHaConfig({ ...base, garp: { lower_prio_delay: -1 } })).toThrow(/ha\.garp\.lower_prio_delay/);
  });
  it('use_vmac: one macvlan name per instance', async () => {
    const { parseHaSection } = await import('../src/config.js');
    const two = {
      vrid: 9,
      vips: ['10.0.0.1/24'],
      use_vmac: true,
      instances: [
        { instance: 'A', interface: 'eth0' },
        { instance: 'B', interface: 'eth1' },
      ],
    };
    expect(() => parseHaSection(two)).toThrow(/ha\.instances\.1\.use_vmac.*vsd\.9 is already used by instance A/);
    expect(
      parseHaSection({
        ...two,
        instances: [
          { instance: 'A', interface: 'eth0' },
          { instance: 'B', interface: 'eth1', use_vmac: 'vsd.9b' },
        ],
      }).instances.length,
    ).toBe(2);
  });
  it('v2 defaults to 1 s and wants whole seconds', () => {
    expect(parseHaConfig({ ...base, version: 2 }).advertIntMs).toBe(1000);
    expect(() => parseHaConfig({ ...base, version: 2, advert_int: 0.5 })).toThrow(/ha\.advert_int: must be whole seconds/);
  });
  it('v3 wants centiseconds below 40.96 s', () => {
    expect(parseHaConfig({ ...base, advert_int: 0.07 }).advertIntMs).toBe(70);
    expect(() => parseHaConfig({ ...base, advert_int: 0.005 })).toThrow(/advert_int/);
    expect(() => parseHaConfig({ ...base, advert_int: 41 })).toThrow(/advert_int/);
  });
  it('names the field and the value on errors', () => {
    try {
      parseHaConfig({ ...base, vrid: 300 });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'VSD_ERR_VALIDATION', details: { field: 'ha.vrid', value: 300 } });
    }
    expect(() => parseHaConfig({ ...base, vips: ['10.0.0.1/33'] })).toThrow(/ha\.vips\.0/);
    expect(() => parseHaConfig({ ...base, unicast_peers: ['nope'] })).toThrow(/ha\.unicast_peers\.0/);
    expect(() => parseHaConfig({ ...base, advert: 1 })).toThrow(/advert/);
  });
  it('refuses mixed families, v2 over IPv6, peers of the other family', () => {
    expect(() => parseHaConfig({ ...base, vips: ['10.0.0.1/24', 'fd00::1/64'] })).toThrow(/one address family/);
    expect(() => parseHaConfig({ ...base, version: 2, vips: ['fd00::1/64'] })).toThrow(/IPv4 only/);
    expect(() => parseHaConfig({ ...base, unicast_peers: ['fd00::2'] })).toThrow(/IPv4/);
  });
  it('accepts the DESIGN.md §8 example', () => {
    const c = parseHaConfig({
      instance: 'VI_1',
      interface: 'eth0',
      vrid: 51,
      priority: 150,
      advert_int: 0.1,
      version: 3,
      preempt: true,
      preempt_delay: 0,
      unicast_src_ip: '10.77.0.11',
      unicast_peers: ['10.77.0.12'],
      vips: ['10.77.0.100/24'],
      garp: { master_delay: 5, master_repeat: 5, master_refresh: 0 },
      track_interfaces: [],
      notify: { master: '/etc/vsd/notify.sh' },
    });
    expect(intervalCs(c)).toBe(10);
  });
});
