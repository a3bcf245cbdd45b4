import { describe, expect, it } from 'vitest';
import { DEFAULT_ADVERT_INT_V3, intervalCs, parseHaConfig } from '../src/config.js';

const base = { interface: 'eth0', vrid: 51, vips: ['10.77.0.100/24'] };

describe('ha config', () => {
  it('applies defaults: v3, 0.05 s, priority 100, preempt, keepalived GARP timings', () => {
    const c = parseHaConfig(base);
    expect(c).toMatchObject({ instance: 'VI_1', version: 3, advert_int: DEFAULT_ADVERT_INT_V3, priority: 100, preempt: true, preempt_delay: 0 });
    expect(c.garp).toEqual({ master_delay: 5, master_repeat: 5, master_refresh: 10, master_refresh_repeat: 1, interval: 0, lower_prio_repeat: 5, lower_prio_delay: 5 });
    expect(c.higher_prio_send_advert).toBe(true);
    expect(intervalCs(c)).toBe(5);
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('garp.lower_prio_* default to the master_* values (as keepalived) and are validated', () => {
    expect(parseHaConfig({ ...base, garp: { master_repeat: 2, master_delay: 1 } }).garp).toMatchObject({ lower_prio_repeat: 2, lower_prio_delay: 1 });
    expect(parseHaConfig({ ...base, garp: { lower_prio_repeat: 0, lower_prio_delay: 0 } }).garp).toMatchObject({ lower_prio_repeat: 0, lower_prio_delay: 0 });
    expect(() => parseHaConfig({ ...base, garp: { lower_prio_repeat: 256 } })).toThrow(/ha\.garp\.lower_prio_repeat/);
    expect(() => parseHaConfig({ ...base, garp: { lower_prio_delay: -1 } })).toThrow(/ha\.garp\.lower_prio_delay/);
  });
  it('use_vmac: one macvlan name per instance', async () => {
    const { parseHaSection } = await import('../src/config.js');
    const two = { vrid: 9, vips: ['10.0.0.1/24'], use_vmac: true, instances: [{ instance: 'A', interface: 'eth0' }, { instance: 'B', interface: 'eth1' }] };
    expect(() => parseHaSection(two)).toThrow(/ha\.instances\.1\.use_vmac.*vsd\.9 is already used by instance A/);
    expect(parseHaSection({ ...two, instances: [{ instance: 'A', interface: 'eth0' }, { instance: 'B', interface: 'eth1', use_vmac: 'vsd.9b' }] }).instances.length).toBe(2);
  });
  it('v2 defaults to 1 s and wants whole seconds', () => {
    expect(parseHaConfig({ ...base, version: 2 }).advert_int).toBe(1);
    expect(() => parseHaConfig({ ...base, version: 2, advert_int: 0.5 })).toThrow(/ha\.advert_int: must be whole seconds/);
  });
  it('v3 wants centiseconds below 40.96 s', () => {
    expect(parseHaConfig({ ...base, advert_int: 0.07 }).advert_int).toBe(0.07);
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
