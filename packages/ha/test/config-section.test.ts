import { describe, expect, it } from 'vitest';
import { parseHaConfig, parseHaSection } from '../src/config.js';

const multi = {
  interface: 'eth0',
  advert_int: 0.05,
  instances: [
    { instance: 'VI_1', vrid: 51, priority: 150, vips: ['192.0.2.100/24'] },
    { instance: 'VI_2', vrid: 52, priority: 100, vips: ['192.0.2.101/24'] },
  ],
  sync_groups: [{ name: 'G1', instances: ['VI_1', 'VI_2'] }],
};

describe('the ha: section with several instances', () => {
  it('the single-instance form is still one instance with its error paths unchanged', () => {
    const s = parseHaSection({ interface: 'eth0', vrid: 51, vips: ['192.0.2.100/24'] });
    expect(s.instances).toHaveLength(1);
    expect(s.instances[0]).toMatchObject({ instance: 'VI_1', vrid: 51, priority: 100, advertIntMs: 50 });
    expect(s.syncGroups).toEqual([]);
    expect(() => parseHaSection({ interface: 'eth0', vrid: 300, vips: ['192.0.2.100/24'] })).toThrow(/^ha\.vrid: /);
    // Parsed once: the options are not the file's keys, so they are not vsd.yaml again.
    expect(() => parseHaSection(s)).toThrow(/^ha\.syncGroups: unknown key/);
    expect(Object.isFrozen(s) && Object.isFrozen(s.instances) && Object.isFrozen(s.instances[0]!.garp)).toBe(true);
  });

  it('instances inherit the keys beside them and keep their own', () => {
    const s = parseHaSection({
      ...multi,
      priority: 120,
      instances: [...multi.instances, { instance: 'VI_3', vrid: 53, interface: 'eth1', vips: ['192.0.2.102/24'] }],
    });
    expect(s.instances.map((c) => [c.instance, c.interface, c.vrid, c.priority, c.advertIntMs])).toEqual([
      ['VI_1', 'eth0', 51, 150, 50],
      ['VI_2', 'eth0', 52, 100, 50],
      ['VI_3', 'eth1', 53, 120, 50],
    ]);
    expect(s.syncGroups).toEqual([{ name: 'G1', instances: ['VI_1', 'VI_2'] }]);
  });

  it('names the misspelt key with the closest known one, at the top, in an instance and in a sync group', () => {
    expect(() => parseHaSection({ ...multi, instnces: [] })).toThrow(/ha\.instnces: unknown key, did you mean instances\?/);
    expect(() => parseHaSection({ ...multi, sync_group: [] })).toThrow(/ha\.sync_group: unknown key, did you mean sync_groups\?/);
    expect(() => parseHaSection({ ...multi, instances: [{ ...multi.instances[0], priorty: 1 }] })).toThrow(
      /ha\.instances\.0\.priorty: unknown key, did you mean priority\?/,
    );
    expect(() => parseHaSection({ ...multi, sync_groups: [{ name: 'G1', members: ['VI_1'] }] })).toThrow(/ha\.sync_groups\.0\.members: unknown key/);
    expect(() => parseHaConfig({ interface: 'eth0', vrid: 51, vips: ['192.0.2.100/24'], advert: 1 })).toThrow(
      /ha\.advert: unknown key, did you mean advert_int\?/,
    );
    const one = { interface: 'eth0', vrid: 51, vips: ['192.0.2.100/24'] };
    expect(() => parseHaSection({ ...one, garp: { master_refesh: 1 } })).toThrow(/ha\.garp\.master_refesh: unknown key, did you mean master_refresh\?/);
    expect(() => parseHaSection({ ...one, notify: { mastr: '/n.sh' } })).toThrow(/ha\.notify\.mastr: unknown key, did you mean master\?/);
    expect(() => parseHaSection({ ...one, track_scripts: [{ script: '/chk', wieght: 1 }] })).toThrow(
      /ha\.track_scripts\.0\.wieght: unknown key, did you mean weight\?/,
    );
    expect(() => parseHaSection({ ...one, track_interfaces: ['eth1', { name: 'eth2', wieght: 1 }] })).toThrow(
      /ha\.track_interfaces\.1\.wieght: unknown key, did you mean weight\?/,
    );
    expect(parseHaSection(one).instances[0]!.garp).toMatchObject({ repeat: 5, delayMs: 5000 });
  });

  it('refuses duplicate names, a VRID used twice on one interface and family, and bad sync groups', () => {
    const [a, b] = multi.instances as [object, object];
    expect(() => parseHaSection({ ...multi, instances: [a, { ...b, instance: 'VI_1' }], sync_groups: [] })).toThrow(
      /ha\.instances\.1\.instance: duplicate instance name \(also instances\.0\)/,
    );
    expect(() => parseHaSection({ ...multi, instances: [a, { ...b, vrid: 51 }] })).toThrow(
      /ha\.instances\.1\.vrid: VRID 51 on eth0 is already used by instance VI_1/,
    );
    expect(() =>
      parseHaSection({
        ...multi,
        instances: [
          { vrid: 51, vips: ['192.0.2.100/24'] },
          { vrid: 52, vips: ['192.0.2.101/24'] },
        ],
        sync_groups: [],
      }),
    ).toThrow(/duplicate instance name/);
    // One VRID per family: IPv4 and IPv6 VRRP are separate elections (RFC 5798), as on another interface.
    expect(parseHaSection({ ...multi, instances: [a, { ...b, vrid: 51, vips: ['2001:db8::101/64'] }] }).instances).toHaveLength(2);
    expect(parseHaSection({ ...multi, instances: [a, { ...b, vrid: 51, interface: 'eth1' }] }).instances).toHaveLength(2);
    expect(() => parseHaSection({ ...multi, sync_groups: [{ name: 'G1', instances: ['VI_1', 'VI_3'] }] })).toThrow(
      /ha\.sync_groups\.0\.instances\.1: no such instance, did you mean VI_1\?/,
    );
    expect(() =>
      parseHaSection({
        ...multi,
        sync_groups: [
          { name: 'G1', instances: ['VI_1'] },
          { name: 'G2', instances: ['VI_1'] },
        ],
      }),
    ).toThrow(/already in sync group G1/);
    expect(() =>
      parseHaSection({
        ...multi,
        sync_groups: [
          { name: 'G1', instances: ['VI_1'] },
          { name: 'G1', instances: ['VI_2'] },
        ],
      }),
    ).toThrow(/duplicate sync group name/);
    expect(() => parseHaSection({ ...multi, instances: [] })).toThrow(/ha\.instances: expected a list of at least one instance/);
    expect(() => parseHaSection({ ...multi, instances: [{ ...a, version: 2, vips: ['2001:db8::1/64'] }] })).toThrow(
      /ha\.instances\.0\.version: VRRP version 2 is IPv4 only/,
    );
    expect(() => parseHaSection({ ...multi, instances: [{ ...a, advert_int: 0.001 }] })).toThrow(/ha\.instances\.0\.advert_int/);
  });
});
